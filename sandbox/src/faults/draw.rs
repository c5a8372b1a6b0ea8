//! The random draw of one request: from the seed, what the request is, and how many such
//! requests came before it; not from its place among all requests. Concurrent requests
//! (a client's calls at once, several backends read together) reach the sandbox in an
//! order no seed controls, and a draw from one shared sequence would hand the faults to
//! other requests on every run.
//!
//! What this does not make repeatable: requests of one kind that overlap (two pull
//! tokens' identities created at once: one method, one path) share that kind's draws in
//! the order they arrive, the n-th to arrive taking the n-th draw. So a seed repeats its
//! faults where each kind's requests come one after another, and may hand a kind's faults
//! to another of its requests where they overlap.

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

/// The path with the ids the fakes make up replaced by `*`, so that the same request
/// draws the same fault on every run: only id shapes, so names a client chose (a cache
/// called `cgr-private-07`) stay, and requests for different caches stay different kinds.
fn generalized(path: &str) -> String {
    path.split('/')
        .map(generalized_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// One path segment with its made-up ids replaced: a UUID (an operation), a `slug_perm`
/// (Cloudsmith's 12 letters and digits, at least one upper case, as the fake makes them),
/// or a run of 16 or more lower-case hex digits (Chainguard's 40-digit and 16-digit ids,
/// key names such as `chainguard-<hex>.rsa.pub`).
fn generalized_segment(segment: &str) -> String {
    if is_uuid(segment) || is_slug_perm(segment) {
        return "*".to_owned();
    }
    let mut out = String::with_capacity(segment.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push('*');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in segment.chars() {
        if matches!(c, '0'..='9' | 'a'..='f') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(segment: &str) -> bool {
    let groups: Vec<&str> = segment.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Twelve ASCII letters and digits with an upper-case letter: a `slug_perm` as the
/// Cloudsmith fake makes them. Names a client gives (slugs, keys, repository ids) are
/// lower case.
fn is_slug_perm(segment: &str) -> bool {
    segment.len() == 12
        && segment.bytes().all(|b| b.is_ascii_alphanumeric())
        && segment.bytes().any(|b| b.is_ascii_uppercase())
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
            "/v1/projects/p/locations/us-central1/operations/*"
        );
        assert_eq!(
            generalized("/repos/sandbox-org/chainguard/upstream/docker/Pz8Lqmw6HRgV/"),
            "/repos/sandbox-org/chainguard/upstream/docker/*/"
        );
        assert_eq!(
            generalized(
                "/keys/chainguard-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.rsa.pub"
            ),
            "/keys/chainguard-*.rsa.pub"
        );
    }

    #[test]
    fn names_a_client_chose_are_kept() {
        for path in [
            "/artifactory/api/repositories/cgr-private",
            "/artifactory/api/repositories/cgr-private-07",
            "/v1/projects/pull-through-sandbox/locations/us-central1/repositories/chainguard-private2",
            "/repos/sandbox-org/cloudsmith12/",
            "/artifactory/api/repositories/deadbeef00",
            "/v1/projects/123456789012/secrets/s/versions/12",
        ] {
            assert_eq!(generalized(path), path);
        }
        // Two caches are two kinds: their draws do not depend on which came first.
        assert_ne!(
            generalized("/artifactory/api/repositories/cgr-private-07"),
            generalized("/artifactory/api/repositories/cgr-private-08")
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
