//! The random draw of one request: from the seed, what the request is, and how many such
//! requests came before it; not from its place among all requests. Concurrent requests
//! (a client's calls at once, several backends read together) reach the sandbox in an
//! order no seed controls, and a draw from one shared sequence would hand the faults to
//! other requests on every run.

use std::collections::HashMap;

/// Counts the requests of each kind (`service method path`), to tell the n-th such
/// request from the others.
#[derive(Debug, Default)]
pub(super) struct Draws {
    seen: HashMap<String, u64>,
}

impl Draws {
    /// Two numbers for the next request of this kind: a roll in `0..1` and a pick below
    /// `kinds`.
    pub(super) fn next(
        &mut self,
        seed: u64,
        service: &str,
        method: &str,
        path: &str,
        kinds: usize,
    ) -> (f64, usize) {
        let key = format!("{service} {method} {}", generalized(path));
        let count = self.seen.entry(key.clone()).or_default();
        *count += 1;
        let mut rng = fastrand::Rng::with_seed(splitmix(seed ^ splitmix(fnv1a(&key) ^ *count)));
        (rng.f64(), rng.usize(..kinds.max(1)))
    }

    pub(super) fn reset(&mut self) {
        self.seen.clear();
    }
}

/// The path with the segments that differ from run to run (ids the fakes make up: an
/// organization's 40 hex digits, an operation's UUID, a `slug_perm`) replaced by `*`,
/// so that the same request draws the same fault on every run.
fn generalized(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let made_up = segment.len() >= 8
                && segment.bytes().any(|b| b.is_ascii_digit())
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if made_up { "*" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// FNV-1a: a hash that stays the same across Rust releases, unlike std's.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: spreads nearby inputs (counts 1, 2, 3) far apart.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_up_by_the_fakes_are_generalized() {
        assert_eq!(
            generalized(
                "/iam/v1/identities/0123456789abcdef0123456789abcdef01234567/89ab01cd23ef45aa"
            ),
            "/iam/v1/identities/*/*"
        );
        assert_eq!(
            generalized(
                "/v1/projects/p/locations/us-central1/operations/56b6b5a7-2d89-4168-b46d-1a2b3c4d5e6f"
            ),
            "/v1/projects/p/locations/*/operations/*"
        );
        assert_eq!(
            generalized("/artifactory/api/repositories/cgr-private"),
            "/artifactory/api/repositories/cgr-private"
        );
    }

    #[test]
    fn a_request_draws_by_kind_and_count_not_by_arrival() {
        let mut one = Draws::default();
        let a1 = one.next(7, "s", "GET", "/a", 5);
        let b1 = one.next(7, "s", "GET", "/b", 5);
        let a2 = one.next(7, "s", "GET", "/a", 5);
        // The other order of arrival: the same draws for the same requests.
        let mut other = Draws::default();
        assert_eq!(other.next(7, "s", "GET", "/b", 5), b1);
        assert_eq!(other.next(7, "s", "GET", "/a", 5), a1);
        assert_eq!(other.next(7, "s", "GET", "/a", 5), a2);
        assert_ne!(a1, a2, "the second such request draws anew");
        assert_ne!(Draws::default().next(8, "s", "GET", "/a", 5), a1);
        one.reset();
        assert_eq!(one.next(7, "s", "GET", "/a", 5), a1);
    }
}
