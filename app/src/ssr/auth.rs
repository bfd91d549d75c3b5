//! Password hashing (argon2id), session tokens and CSRF tokens.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// How long a login lasts.
pub const SESSION_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

/// Argon2's working memory (19 MiB with the default parameters), kept by a hashing thread and
/// reused for every hash it computes, so checking passwords does not allocate and free 19 MiB
/// each time (the allocator would keep freed buffers per thread).
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    /// Memory for the default parameters, which [`hash_password`] uses.
    pub fn new() -> HashMemory {
        HashMemory(vec![Block::new(); Params::DEFAULT.block_count()])
    }

    /// Runs argon2 in this memory, or in a temporary buffer if a hash asks for more.
    fn hash_into(
        &mut self,
        argon: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let needed = argon.params().block_count();
        match self.0.get_mut(..needed) {
            Some(blocks) => argon.hash_password_into_with_memory(password, salt, out, blocks),
            None => argon.hash_password_into_with_memory(
                password,
                salt,
                out,
                vec![Block::new(); needed],
            ),
        }
    }
}

impl Default for HashMemory {
    fn default() -> Self {
        Self::new()
    }
}

/// Hashes a password with argon2id (the crate's OWASP-recommended defaults) and a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    hash_password_in(&mut HashMemory::new(), password)
}

/// [`hash_password`] in the given memory. The PHC string is the one the argon2 crate's own
/// `PasswordHasher` would produce.
pub fn hash_password_in(
    memory: &mut HashMemory,
    password: &str,
) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf)?;
    let argon = Argon2::default();
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        memory
            .hash_into(&argon, password.as_bytes(), salt_bytes, out)
            .map_err(argon2::password_hash::Error::from)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon.params().try_into()?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// Checks a password against a stored PHC hash. A malformed hash never verifies.
pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_password_in(&mut HashMemory::new(), password, hash)
}

/// [`verify_password`] in the given memory: the hash's own algorithm and parameters, the
/// outputs compared in constant time.
pub fn verify_password_in(memory: &mut HashMemory, password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    // `Output` holds at most 64 bytes and compares in constant time.
    Output::init_with(expected.len(), |out| {
        memory
            .hash_into(&argon, password.as_bytes(), salt_bytes, out)
            .map_err(argon2::password_hash::Error::from)
    })
    .is_ok_and(|computed| computed == expected)
}

/// A hash of a random password, used to spend the same time on a login for an unknown email,
/// so response times do not reveal which emails have accounts.
pub fn dummy_hash() -> &'static str {
    dummy_hash_in(&mut HashMemory::new())
}

/// [`dummy_hash`], computed (once per process) in the given memory.
pub fn dummy_hash_in(memory: &mut HashMemory) -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password_in(memory, &random_token()).unwrap_or_default())
}

/// 32 random bytes from the OS, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores for a session token: HMAC-SHA256 keyed with the instance's secret
/// key, hex. A leaked database row cannot be replayed as a cookie, and rotating the secret key
/// ends every session.
pub fn token_hash(secret: &[u8], token: &str) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        unreachable!("HMAC-SHA256 accepts keys of any length")
    };
    mac.update(token.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two secrets in constant time.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_reused_memory_match_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = HashMemory::new();
        // Ours verifies with the crate's verifier, the crate's verifies with ours, in the
        // same memory one after another.
        let ours = hash_password_in(&mut memory, "correct horse battery").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong horse battery", &parsed)
            .is_err());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            ours.split('$').take(4).collect::<Vec<_>>(),
            theirs.split('$').take(4).collect::<Vec<_>>(),
            "same algorithm, version and parameters"
        );
        for _ in 0..2 {
            assert!(verify_password_in(
                &mut memory,
                "correct horse battery",
                &theirs
            ));
            assert!(!verify_password_in(
                &mut memory,
                "correct horse batterx",
                &theirs
            ));
            assert!(verify_password_in(
                &mut memory,
                "correct horse battery",
                &ours
            ));
        }
        // A hash with other parameters (more memory than the buffer, argon2i, fewer passes).
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(Params::DEFAULT_M_COST + 1024, 1, 1, Some(16)).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password_in(&mut memory, "pw", &other));
        assert!(!verify_password_in(&mut memory, "pW", &other));
        assert!(!verify_password_in(
            &mut memory,
            "pw",
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ"
        ));
        assert!(!verify_password_in(
            &mut memory,
            "pw",
            "$scrypt$ln=1,r=8,p=1$c2FsdHNhbHQ$aGFzaA"
        ));
        assert!(dummy_hash_in(&mut memory).starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn tokens_are_random_and_hash_is_stable() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(b"k", &a), token_hash(b"k", &a));
        assert_ne!(token_hash(b"k", &a), token_hash(b"k", &b));
        assert_ne!(token_hash(b"k", &a), token_hash(b"other key", &a));
        assert_eq!(token_hash(b"k", "x").len(), 64);
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
