//! Google's list pagination (AIP-158), one loop for every list this crate reads: ask with
//! `pageSize` (and `pageToken` after the first page) until `nextPageToken` is absent or
//! empty.

use pull_through_core::Error;
use pull_through_core::http::HttpClient;
use serde::de::DeserializeOwned;

use crate::client::GarClient;

impl GarClient {
    /// Every item of the list at `path` on `http`, all pages read: each page is read as
    /// `P` (`what` names it in errors) and split into its items and its `nextPageToken`.
    pub(crate) async fn all_pages<P, T>(
        &self,
        http: &HttpClient,
        path: &str,
        page_size: &str,
        what: &str,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, Error>
    where
        P: DeserializeOwned,
    {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("pageSize", page_size)];
            if let Some(token) = &token {
                query.push(("pageToken", token.as_str()));
            }
            let page: P = self.json(http.get(path).query(&query), what).await?;
            let (items, next) = split(page);
            all.extend(items);
            match next.filter(|t| !t.is_empty()) {
                // A server that hands back the token it was given would loop forever.
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(all),
            }
        }
    }
}
