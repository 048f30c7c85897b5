//! Property tests of the verifier: whatever string arrives in an
//! `Authorization` header, verification returns an error instead of
//! panicking, and nothing but the untouched valid token verifies.
//!
//! Each property runs proptest's default 256 cases, a few seconds in all;
//! `PROPTEST_CASES=100000 cargo test -p shared-claims --test
//! verify_properties` searches longer.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::*;
use jsonwebtoken::Algorithm;
use proptest::prelude::*;
use proptest::sample::Index;

/// Valid tokens of every algorithm the auth server signs with.
fn valid_tokens() -> Vec<String> {
    vec![
        valid_token(),
        encode(Algorithm::ES256, EC_KID, &ec_encoding_key(), &claims()),
        encode(Algorithm::RS256, RSA_KID, &rsa_encoding_key(), &claims()),
    ]
}

/// Characters a mutation may write: the base64url alphabet, the
/// separator, padding, the standard alphabet's extras, whitespace and
/// non-ASCII.
const REPLACEMENTS: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \té\u{0}";

#[test]
fn the_fixtures_verify() {
    let verifier = verifier();
    for token in valid_tokens() {
        verifier.verify_at(&token, NOW).expect("valid");
    }
}

/// Exhaustive where it is cheap: every position of every fixture, changed
/// to the next base64url character (the change most likely to still
/// decode, including the low bits the last character of a segment pads).
#[test]
fn every_position_changed_to_another_base64url_character_is_refused() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let verifier = verifier();
    for token in valid_tokens() {
        for (at, old) in token.bytes().enumerate() {
            let Some(index) = ALPHABET.iter().position(|&c| c == old) else {
                continue; // a separator
            };
            let mut mutated = token.clone().into_bytes();
            mutated[at] = ALPHABET[(index + 1) % ALPHABET.len()];
            let mutated = String::from_utf8(mutated).unwrap();
            assert!(
                verifier.verify_at(&mutated, NOW).is_err(),
                "verified after changing position {at} of {token}"
            );
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_verify(token in any::<String>()) {
        prop_assert!(verifier().verify_at(&token, NOW).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let token = String::from_utf8_lossy(&bytes);
        prop_assert!(verifier().verify_at(&token, NOW).is_err());
    }

    #[test]
    fn jwt_shaped_garbage_never_verifies(
        token in "[A-Za-z0-9_-]{0,64}\\.[A-Za-z0-9_-]{0,256}\\.[A-Za-z0-9_-]{0,128}"
    ) {
        prop_assert!(verifier().verify_at(&token, NOW).is_err());
    }

    #[test]
    fn valid_segments_recombined_with_garbage_never_verify(
        which in any::<Index>(),
        segment in any::<Index>(),
        garbage in "[A-Za-z0-9_-]{0,128}",
    ) {
        let tokens = valid_tokens();
        let token = &tokens[which.index(tokens.len())];
        let mut parts: Vec<&str> = token.split('.').collect();
        let at = segment.index(parts.len());
        prop_assume!(parts[at] != garbage);
        parts[at] = &garbage;
        prop_assert!(verifier().verify_at(&parts.join("."), NOW).is_err());
    }

    #[test]
    fn a_valid_token_with_any_one_character_changed_is_refused(
        which in any::<Index>(),
        position in any::<Index>(),
        replacement in any::<Index>(),
    ) {
        let tokens = valid_tokens();
        let token = &tokens[which.index(tokens.len())];
        let at = position.index(token.len());
        let replacements: Vec<char> = REPLACEMENTS.chars().collect();
        let new = replacements[replacement.index(replacements.len())];
        let old = char::from(token.as_bytes()[at]);
        prop_assume!(new != old);
        let mut mutated = String::with_capacity(token.len() + 4);
        mutated.push_str(&token[..at]);
        mutated.push(new);
        mutated.push_str(&token[at + 1..]);
        prop_assert!(
            verifier().verify_at(&mutated, NOW).is_err(),
            "verified after changing {old:?} at {at} to {new:?}"
        );
    }

    #[test]
    fn a_valid_token_cut_or_extended_is_refused(
        which in any::<Index>(),
        cut in any::<Index>(),
        suffix in "[A-Za-z0-9_.=-]{1,8}",
    ) {
        let tokens = valid_tokens();
        let token = &tokens[which.index(tokens.len())];
        let shortened = &token[..cut.index(token.len())];
        prop_assert!(verifier().verify_at(shortened, NOW).is_err());
        let extended = format!("{token}{suffix}");
        prop_assert!(verifier().verify_at(&extended, NOW).is_err());
    }
}
