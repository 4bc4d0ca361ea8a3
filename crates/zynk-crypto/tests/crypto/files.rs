use sha2::{Digest, Sha256};
use zynk_crypto::file::{CHUNK_SIZE, TAG_SIZE};
use zynk_crypto::{CryptoError, FileKey, ciphertext_len, decrypt_stream, encrypt_stream};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn encrypt(plain: &[u8]) -> (FileKey, Vec<u8>) {
    let mut out = Vec::new();
    let (key, hash, len) = encrypt_stream(plain, &mut out).unwrap();
    assert_eq!(len, out.len() as u64);
    assert_eq!(len, ciphertext_len(plain.len() as u64));
    let expected: String = Sha256::digest(&out)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hash, expected);
    (key, out)
}

fn decrypt(key: &FileKey, ct: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::new();
    let n = decrypt_stream(key, ct, &mut out)?;
    assert_eq!(n, out.len() as u64);
    Ok(out)
}

#[test]
fn round_trips() {
    for len in [
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        2 * CHUNK_SIZE,
        (1 << 20) + 123,
    ] {
        let plain = data(len);
        let (key, ct) = encrypt(&plain);
        assert_eq!(decrypt(&key, &ct).unwrap(), plain, "length {len}");
        // The key survives its base64/serde form.
        let key2 = FileKey::from_base64(&key.to_base64()).unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<FileKey>(&json).unwrap(), key2);
        assert_eq!(decrypt(&key2, &ct).unwrap(), plain);
    }
    assert_eq!(ciphertext_len(0), TAG_SIZE as u64);
    assert_eq!(
        ciphertext_len(CHUNK_SIZE as u64),
        (CHUNK_SIZE + TAG_SIZE) as u64
    );
    assert_eq!(
        ciphertext_len(CHUNK_SIZE as u64 + 1),
        (CHUNK_SIZE + 1 + 2 * TAG_SIZE) as u64
    );
}

#[test]
fn fresh_key_per_file() {
    let plain = data(100);
    let (k1, c1) = encrypt(&plain);
    let (k2, c2) = encrypt(&plain);
    assert_ne!(k1, k2);
    assert_ne!(c1, c2);
    assert!(matches!(decrypt(&k2, &c1), Err(CryptoError::Decryption)));
}

#[test]
fn flipped_byte_is_detected() {
    let plain = data(3 * CHUNK_SIZE + 10);
    let (key, ct) = encrypt(&plain);
    for pos in [0, CHUNK_SIZE + 5, ct.len() - 1] {
        let mut bad = ct.clone();
        bad[pos] ^= 0x80;
        assert!(
            matches!(decrypt(&key, &bad), Err(CryptoError::Decryption)),
            "pos {pos}"
        );
    }
}

#[test]
fn swapped_chunks_are_detected() {
    let plain = data(3 * CHUNK_SIZE + 10);
    let (key, ct) = encrypt(&plain);
    let c = CHUNK_SIZE + TAG_SIZE;
    let mut swapped = Vec::new();
    swapped.extend_from_slice(&ct[c..2 * c]);
    swapped.extend_from_slice(&ct[..c]);
    swapped.extend_from_slice(&ct[2 * c..]);
    assert!(matches!(
        decrypt(&key, &swapped),
        Err(CryptoError::Reordered)
    ));
}

#[test]
fn dropped_last_chunk_is_detected() {
    let c = CHUNK_SIZE + TAG_SIZE;
    for len in [2 * CHUNK_SIZE + 10, 3 * CHUNK_SIZE] {
        let (key, ct) = encrypt(&data(len));
        let cut = if len % CHUNK_SIZE == 0 {
            ct.len() - c
        } else {
            2 * c
        };
        assert!(
            matches!(decrypt(&key, &ct[..cut]), Err(CryptoError::Truncated)),
            "len {len}"
        );
    }
    let (key, ct) = encrypt(&data(10));
    assert!(matches!(decrypt(&key, &[]), Err(CryptoError::Truncated)));
    assert!(matches!(
        decrypt(&key, &ct[..TAG_SIZE - 1]),
        Err(CryptoError::Truncated)
    ));
}

#[test]
fn appended_bytes_are_detected() {
    // After a full final chunk: the final chunk is read as non-final.
    let (key, mut ct) = encrypt(&data(2 * CHUNK_SIZE));
    ct.extend_from_slice(b"extra");
    assert!(matches!(decrypt(&key, &ct), Err(CryptoError::TrailingData)));
    // After a short final chunk.
    let (key, mut ct) = encrypt(&data(CHUNK_SIZE + 7));
    ct.extend_from_slice(b"extra");
    assert!(decrypt(&key, &ct).is_err());
    // A whole extra chunk from another file under another key.
    let (key, mut ct) = encrypt(&data(CHUNK_SIZE));
    let (_, other) = encrypt(&data(10));
    ct.extend_from_slice(&other);
    assert!(decrypt(&key, &ct).is_err());
}

#[test]
fn bad_file_keys_are_refused() {
    assert!(matches!(
        FileKey::from_base64("AAAA"),
        Err(CryptoError::BadKey(_))
    ));
    assert!(matches!(
        FileKey::from_base64("!!"),
        Err(CryptoError::BadBase64)
    ));
}

/// The documented format: chunk nonce = prefix (7) ‖ counter u32 BE ‖ last flag.
#[test]
fn format_matches_the_documentation() {
    use aes_gcm::aead::{Aead, KeyInit};
    let (key, ct) = encrypt(&data(CHUNK_SIZE + 3));
    let raw = vodozemac::base64_decode(&*key.to_base64()).unwrap();
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&raw[..32]).unwrap();
    let nonce = |counter: u32, last: u8| {
        let mut n = [0u8; 12];
        n[..7].copy_from_slice(&raw[32..]);
        n[7..11].copy_from_slice(&counter.to_be_bytes());
        n[11] = last;
        aes_gcm::Nonce::from(n)
    };
    let c = CHUNK_SIZE + TAG_SIZE;
    assert_eq!(
        cipher.decrypt(&nonce(0, 0), &ct[..c]).unwrap(),
        data(CHUNK_SIZE + 3)[..CHUNK_SIZE]
    );
    assert_eq!(
        cipher.decrypt(&nonce(1, 1), &ct[c..]).unwrap(),
        data(CHUNK_SIZE + 3)[CHUNK_SIZE..]
    );
}
