//! The payload segment of URL-safe serializers: JSON, zlib-compressed when that makes it
//! shorter (then prefixed with `.`), in unpadded base64url.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::PayloadError;
use super::json::to_python_json;

/// Largest JSON payload accepted or produced, after decompression (64 KiB). Decompression stops
/// as soon as the output would exceed it, so a zip bomb costs at most this much memory.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// `URLSafeSerializerMixin.dump_payload`: JSON, compressed if
/// `len(compressed) < len(json) - 1`, base64url, `.` prefix when compressed.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<String, PayloadError> {
    let json = to_python_json(value).map_err(|_| PayloadError::UnexpectedShape)?;
    if json.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge);
    }
    match compress(&json) {
        Some(compressed) if compressed.len() + 1 < json.len() => {
            Ok(format!(".{}", URL_SAFE_NO_PAD.encode(compressed)))
        }
        _ => Ok(URL_SAFE_NO_PAD.encode(&json)),
    }
}

/// `URLSafeSerializerMixin.load_payload`, bounded: base64url, inflate if `.`-prefixed, JSON.
pub(crate) fn decode<T: DeserializeOwned>(payload: &str) -> Result<T, PayloadError> {
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let raw = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| PayloadError::Base64)?;
    let json = if compressed {
        inflate_bounded(&raw, MAX_PAYLOAD_BYTES)?
    } else if raw.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge);
    } else {
        raw
    };
    serde_json::from_slice(&json).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => PayloadError::UnexpectedShape,
        _ => PayloadError::InvalidJson,
    })
}

/// zlib at Python's default level 6. Returns `None` if the compressor misbehaves (then the
/// payload is sent uncompressed, which is always valid).
fn compress(data: &[u8]) -> Option<Vec<u8>> {
    let mut c = Compress::new(Compression::new(6), true);
    // Worst case of deflate is a few bytes per 16 KiB block plus the zlib header/trailer.
    let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
    for _ in 0..64 {
        let consumed = usize::try_from(c.total_in()).ok()?;
        let status = c
            .compress_vec(data.get(consumed..)?, &mut out, FlushCompress::Finish)
            .ok()?;
        if status == Status::StreamEnd {
            return Some(out);
        }
        out.reserve(out.capacity().max(64));
    }
    None
}

/// Inflates one complete zlib stream (header and Adler-32 checked), refusing output larger than
/// `limit` and any trailing bytes after the stream.
pub(crate) fn inflate_bounded(input: &[u8], limit: usize) -> Result<Vec<u8>, PayloadError> {
    thread_local! {
        // A zlib decompressor holds ~43 KiB of state; building one per token costs more than
        // the rest of the verification, so each thread keeps one and resets it.
        static INFLATER: std::cell::RefCell<Decompress> = std::cell::RefCell::new(Decompress::new(true));
    }
    INFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut d) => {
            d.reset(true);
            inflate_with(&mut d, input, limit)
        }
        Err(_) => inflate_with(&mut Decompress::new(true), input, limit),
    })
}

fn inflate_with(d: &mut Decompress, input: &[u8], limit: usize) -> Result<Vec<u8>, PayloadError> {
    // One byte more than the limit, to tell "exactly at the limit" from "over it".
    let cap = limit.saturating_add(1);
    let mut out = Vec::with_capacity(cap.min(input.len().saturating_mul(8)).max(64));
    loop {
        let consumed = usize::try_from(d.total_in()).map_err(|_| PayloadError::Decompress)?;
        let rest = input.get(consumed..).ok_or(PayloadError::Decompress)?;
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Err(PayloadError::TooLarge);
            }
            out.reserve_exact((out.capacity().saturating_mul(2)).min(cap) - out.len());
        }
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let status = d
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|_| PayloadError::Decompress)?;
        if out.len() > limit {
            return Err(PayloadError::TooLarge);
        }
        match status {
            Status::StreamEnd => {
                return if d.total_in() == input.len() as u64 {
                    Ok(out)
                } else {
                    Err(PayloadError::Decompress) // trailing data
                };
            }
            Status::Ok | Status::BufError => {
                let progressed = d.total_in() != in_before || d.total_out() != out_before;
                if !progressed && out.len() < out.capacity() {
                    return Err(PayloadError::Decompress); // truncated stream
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_compression_choice() {
        let short = encode(&["x"]).unwrap();
        assert!(!short.starts_with('.'));
        let long = encode(&vec!["repeat me"; 200]).unwrap();
        assert!(long.starts_with('.'));
        assert_eq!(
            decode::<Vec<String>>(&long).unwrap(),
            vec!["repeat me"; 200]
        );
    }

    #[test]
    fn inflate_limits() {
        let data = vec![b'a'; 10_000];
        let z = compress(&data).unwrap();
        assert_eq!(inflate_bounded(&z, 10_000).unwrap(), data);
        assert_eq!(inflate_bounded(&z, 9_999), Err(PayloadError::TooLarge));
        assert_eq!(
            inflate_bounded(&z[..z.len() - 1], 20_000),
            Err(PayloadError::Decompress)
        );
        let mut trailing = z.clone();
        trailing.push(0);
        assert_eq!(
            inflate_bounded(&trailing, 20_000),
            Err(PayloadError::Decompress)
        );
        let mut bad_adler = z.clone();
        let last = bad_adler.len() - 1;
        bad_adler[last] ^= 1;
        assert_eq!(
            inflate_bounded(&bad_adler, 20_000),
            Err(PayloadError::Decompress)
        );
        assert_eq!(inflate_bounded(&[], 100), Err(PayloadError::Decompress));
        assert_eq!(
            inflate_bounded(b"garbage!", 100),
            Err(PayloadError::Decompress)
        );
    }

    #[test]
    fn zip_bomb_is_refused_quickly() {
        let bomb = compress(&vec![0u8; 8 * 1024 * 1024]).unwrap();
        assert!(bomb.len() < 16 * 1024);
        assert_eq!(
            inflate_bounded(&bomb, MAX_PAYLOAD_BYTES),
            Err(PayloadError::TooLarge)
        );
    }
}
