//! Cloudsmith's pagination: a bare JSON array, `page` (1-based) and `page_size` (default
//! 30, at most 500: larger asks are clamped, as the CLI's `page_size=1000` suggests), and
//! the `X-Pagination-*` and `Link` headers. An empty list is never paginated: no headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::envelope::detail;

/// The page size when none is asked for.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 30;
/// The largest page size; larger asks get this.
pub(crate) const MAX_PAGE_SIZE: usize = 500;

/// One page of `items`, answered at `path` (for the `Link` URLs, which keep the other
/// query parameters). `page` 0 or below is page 1; a page past the last is DRF's 404
/// `Invalid page.`, and so is a `page` that is not a number.
pub(crate) fn paginate(
    items: Vec<Value>,
    query: &[(String, String)],
    headers: &HeaderMap,
    path: &str,
) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
    };
    let page = match param("page").map(str::parse::<i64>) {
        None => 1,
        Some(Ok(page)) => usize::try_from(page.max(1)).unwrap_or(1),
        Some(Err(_)) => return detail(StatusCode::NOT_FOUND, "Invalid page."),
    };
    let page_size = param("page_size")
        .and_then(|size| size.parse::<i64>().ok())
        .filter(|size| *size > 0)
        .map_or(DEFAULT_PAGE_SIZE, |size| {
            usize::try_from(size).map_or(MAX_PAGE_SIZE, |size| size.min(MAX_PAGE_SIZE))
        });
    let count = items.len();
    if count == 0 {
        return if page == 1 {
            axum::Json(Value::Array(Vec::new())).into_response()
        } else {
            detail(StatusCode::NOT_FOUND, "Invalid page.")
        };
    }
    let total = count.div_ceil(page_size);
    if page > total {
        return detail(StatusCode::NOT_FOUND, "Invalid page.");
    }
    let shown: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * page_size)
        .take(page_size)
        .collect();
    let mut answer = axum::Json(Value::Array(shown)).into_response();
    let out = answer.headers_mut();
    out.insert("x-pagination-count", HeaderValue::from(count));
    out.insert("x-pagination-page", HeaderValue::from(page));
    out.insert("x-pagination-pagesize", HeaderValue::from(page_size));
    out.insert("x-pagination-pagetotal", HeaderValue::from(total));
    let link = |to: usize, rel: &str| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in query {
            if key != "page" && key != "page_size" {
                pairs.append_pair(key, value);
            }
        }
        pairs.append_pair("page", &to.to_string());
        pairs.append_pair("page_size", &page_size.to_string());
        format!(
            "<{}{path}?{}>; rel=\"{rel}\"",
            super::root(headers).trim_end_matches('/'),
            pairs.finish()
        )
    };
    let mut links = Vec::new();
    if total > 1 {
        links.push(link(1, "first"));
    }
    if page > 1 {
        links.push(link(page - 1, "prev"));
    }
    if page < total {
        links.push(link(page + 1, "next"));
    }
    if total > 1 {
        links.push(link(total, "last"));
    }
    if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
        if !links.is_empty() {
            out.insert("link", value);
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn header(answer: &Response, name: &str) -> Option<String> {
        answer
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn the_middle_page_links_everywhere_and_sizes_are_clamped() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:9"));
        let items: Vec<Value> = (0..5).map(Value::from).collect();
        let answer = paginate(
            items.clone(),
            &query(&[("query", "name:a"), ("page", "2"), ("page_size", "2")]),
            &headers,
            "/repos/o/",
        );
        assert_eq!(header(&answer, "x-pagination-count").as_deref(), Some("5"));
        assert_eq!(
            header(&answer, "x-pagination-pagetotal").as_deref(),
            Some("3")
        );
        let base = "http://127.0.0.1:9/repos/o/?query=name%3Aa";
        assert_eq!(
            header(&answer, "link").unwrap(),
            format!(
                "<{base}&page=1&page_size=2>; rel=\"first\", <{base}&page=1&page_size=2>; rel=\"prev\", \
                 <{base}&page=3&page_size=2>; rel=\"next\", <{base}&page=3&page_size=2>; rel=\"last\""
            )
        );
        let answer = paginate(items, &query(&[("page_size", "1000")]), &headers, "/x/");
        assert_eq!(
            header(&answer, "x-pagination-pagesize").as_deref(),
            Some("500")
        );
        assert_eq!(header(&answer, "link"), None);
    }

    #[test]
    fn an_empty_list_has_no_headers_and_a_page_past_the_end_is_a_404() {
        let headers = HeaderMap::new();
        let empty = paginate(Vec::new(), &[], &headers, "/x/");
        assert_eq!(empty.status(), StatusCode::OK);
        assert_eq!(header(&empty, "x-pagination-count"), None);
        let past = paginate(vec![Value::Null], &query(&[("page", "2")]), &headers, "/x/");
        assert_eq!(past.status(), StatusCode::NOT_FOUND);
        let zero = paginate(vec![Value::Null], &query(&[("page", "0")]), &headers, "/x/");
        assert_eq!(header(&zero, "x-pagination-page").as_deref(), Some("1"));
    }
}
