//! Webhook signatures as the Standard Webhooks specification defines them, so a receiver can
//! verify a delivery with an off-the-shelf library: headers `webhook-id` (the event id, the
//! same on every retry), `webhook-timestamp` (unix seconds of this attempt) and
//! `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), where the
//! key is the base64 text after the secret's `whsec_` prefix.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const PREFIX: &str = "whsec_";

/// A new secret: 24 random bytes.
pub fn new_secret() -> String {
    let bytes: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(&uuid::Uuid::new_v4().as_bytes()[..8])
        .copied()
        .collect();
    format!("{PREFIX}{}", B64.encode(bytes))
}

/// The key bytes of a `whsec_…` secret, or `None` when it is not one.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    let key = B64.decode(secret.strip_prefix(PREFIX)?).ok()?;
    (key.len() >= 16).then_some(key)
}

/// The `webhook-signature` header value.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specifications_example() {
        // The example of the Standard Webhooks specification (and its reference libraries).
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_are_keys_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(key_of(&a).unwrap().len(), 24);
        assert!(key_of("whsec_not base64!").is_none());
        assert!(key_of("plain").is_none());
    }
}
