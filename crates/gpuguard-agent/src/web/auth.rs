//! HTTP basic auth against bcrypt hashes, the way exporter-toolkit does it: an unknown user is
//! checked against a stand-in hash of the same cost (no user enumeration by timing), one bcrypt
//! comparison runs at a time (each costs tens of milliseconds of CPU), and a successful
//! comparison is remembered by a SHA-256 of user, hash and password, so Prometheus' scrape every
//! 15 s costs one bcrypt per process lifetime, not one per scrape.

use base64::Engine;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, PoisonError};

/// Successful logins remembered; the set is emptied when full.
const CACHE_MAX: usize = 256;

/// The users of a web config and their bcrypt hashes.
#[derive(Debug)]
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// Hash an unknown user is checked against, of the configured users' cost.
    stand_in: String,
    /// Digests of (user, hash, password) that matched.
    cache: Mutex<HashSet<[u8; 32]>>,
    /// One bcrypt comparison at a time.
    bcrypt: Mutex<()>,
}

fn digest(user: &str, hash: &str, password: &[u8]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user.as_bytes(), b"\0", hash.as_bytes(), b"\0", password] {
        ctx.update(part);
    }
    let mut out = [0; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl BasicAuth {
    /// Checks for `users` (name → bcrypt hash, already validated). Makes the stand-in hash
    /// (one bcrypt of the users' cost, tens of milliseconds).
    pub fn new(users: BTreeMap<String, String>) -> Self {
        let cost = users.values().filter_map(|h| h.parse::<bcrypt::HashParts>().ok()).map(|p| p.get_cost()).max();
        let stand_in = bcrypt::hash("gpuguard: no such user", cost.unwrap_or(10).clamp(4, 31)).unwrap_or_default();
        BasicAuth { users, stand_in, cache: Mutex::new(HashSet::new()), bcrypt: Mutex::new(()) }
    }

    /// Whether an `Authorization` header value names a user and the right password. Blocking
    /// (bcrypt): call it off the async workers.
    ///
    /// ```
    /// let hash = bcrypt::hash("s3cret", 4).unwrap();
    /// let auth = gpuguard_agent::web::BasicAuth::new([("prometheus".to_owned(), hash)].into());
    /// assert!(auth.allows(Some("Basic cHJvbWV0aGV1czpzM2NyZXQ="))); // prometheus:s3cret
    /// assert!(!auth.allows(Some("Basic cHJvbWV0aGV1czp3cm9uZw=="))); // prometheus:wrong
    /// assert!(!auth.allows(None));
    /// ```
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(credentials) else { return false };
        let (known, hash) = match self.users.get(&user) {
            Some(h) => (true, h.as_str()),
            None => (false, self.stand_in.as_str()),
        };
        let key = digest(&user, hash, &password);
        if known && self.cache.lock().unwrap_or_else(PoisonError::into_inner).contains(&key) {
            return true;
        }
        let matched = {
            let _one = self.bcrypt.lock().unwrap_or_else(PoisonError::into_inner);
            bcrypt::verify(&password, hash).unwrap_or(false)
        };
        if known && matched {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(key);
        }
        known && matched
    }
}

/// User and password from `Basic base64(user:password)` (RFC 7617); the password may hold `:`.
fn credentials(header: &str) -> Option<(String, Vec<u8>)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_with_colons_unknown_users_and_other_schemes() {
        let hash = bcrypt::hash("a:b", 4).expect("hash");
        let auth = BasicAuth::new([("u".to_owned(), hash)].into());
        let b64 = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        assert!(auth.allows(Some(&b64("u:a:b"))));
        assert!(auth.allows(Some(&b64("u:a:b"))), "cached");
        assert!(!auth.allows(Some(&b64("v:a:b"))), "unknown user");
        assert!(!auth.allows(Some(&b64("u:a"))));
        assert!(!auth.allows(Some("Bearer abc")));
        assert!(!auth.allows(Some("Basic %%%")));
    }
}
