//! JSON exactly as itsdangerous' `_CompactJSON` writes it:
//! `json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`.
//!
//! serde_json's compact output already matches Python for strings (raw UTF-8, the same escapes,
//! lowercase `\u00XX` for other control characters), integers, booleans and `null`. Floats
//! differ: Python writes `repr(float)` (`1e+16`, `1.5e-07`, `1.0`), serde_json writes `1e16`,
//! `1.5e-7`. [`PythonFormatter`] fixes that, so a Rust-made token is byte-identical to a
//! Python-made one. Non-finite floats are written as `null` by serde_json (Python would write
//! `NaN`/`Infinity`, which is not JSON).

use std::io;

use serde::Serialize;

/// serde_json formatter producing Python's compact JSON.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

/// Serialises `value` as Python's compact JSON.
pub(crate) fn to_python_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Python's `repr(float)` for a finite `f64`: the shortest round-tripping digits, fixed notation
/// when the decimal exponent is in `-4..16`, otherwise `d.ddde±XX` (at least two exponent digits).
pub(crate) fn python_float_repr(value: f64) -> String {
    // Rust's `{:e}` gives the shortest round-tripping digits: "-1.2345e-7", "0e0", "1e16".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let body = if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = usize::try_from(exp).unwrap_or(0) + 1;
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let zeros = usize::try_from(-exp - 1).unwrap_or(0);
            format!("0.{}{digits}", "0".repeat(zeros))
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let exp_sign = if exp < 0 { '-' } else { '+' };
        if rest.is_empty() {
            format!("{first}e{exp_sign}{:02}", exp.unsigned_abs())
        } else {
            format!("{first}.{rest}e{exp_sign}{:02}", exp.unsigned_abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn floats_like_python_repr() {
        // python3 -c "print([repr(x) for x in [...]])"
        let cases: [(f64, &str); 17] = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (2.5, "2.5"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e-7, "1.5e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e300, "1e+300"),
            (5e-324, "5e-324"),
            (123_456_789_012_345_680_000.0, "1.2345678901234568e+20"),
            (12_345_678_901_234_567.0, "1.2345678901234568e+16"),
            (1_732_340_878.123_456, "1732340878.123456"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(value), expected, "{value:e}");
        }
    }

    #[test]
    fn compact_json_like_python() {
        let v = serde_json::json!({"a": [1, 2.0, "é\n\u{7f}\u{0}", null, true]});
        let out = String::from_utf8(to_python_json(&v).unwrap()).unwrap();
        assert_eq!(out, "{\"a\":[1,2.0,\"é\\n\u{7f}\\u0000\",null,true]}");
    }
}
