//! Datetimes stored the way SQLAlchemy stores them.
//!
//! Flask-Security keeps naive UTC datetimes. On SQLite, SQLAlchemy's `DATETIME` type writes text
//! `YYYY-MM-DD HH:MM:SS.ffffff` with exactly six fractional digits and reads text with or
//! without the fraction; sqlx's own `PrimitiveDateTime` encoding prints a variable number of
//! digits, which SQLAlchemy may misread. [`DbDateTime`] writes exactly SQLAlchemy's format on
//! SQLite and delegates to `PrimitiveDateTime` (`TIMESTAMP WITHOUT TIME ZONE`) on PostgreSQL.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type, ValueRef};
use time::{Date, Month, PrimitiveDateTime, Time};

/// A naive UTC datetime as Flask-Security/SQLAlchemy store it.
///
/// # Example
/// ```
/// use rampart_sqlx::datetime::DbDateTime;
/// let t = DbDateTime::parse_sqlalchemy("2024-05-06 07:08:09.000123").unwrap();
/// assert_eq!(t.to_sqlalchemy(), "2024-05-06 07:08:09.000123");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbDateTime(pub PrimitiveDateTime);

impl From<PrimitiveDateTime> for DbDateTime {
    fn from(value: PrimitiveDateTime) -> Self {
        Self(value)
    }
}

impl From<DbDateTime> for PrimitiveDateTime {
    fn from(value: DbDateTime) -> Self {
        value.0
    }
}

impl DbDateTime {
    /// Formats as SQLAlchemy's SQLite text: `YYYY-MM-DD HH:MM:SS.ffffff` (microseconds,
    /// always six digits; finer precision is truncated).
    pub fn to_sqlalchemy(&self) -> String {
        let d = self.0;
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.microsecond()
        )
    }

    /// Parses SQLite datetime text: `YYYY-MM-DD`, optionally followed by ` HH:MM[:SS[.f…]]`
    /// (a `T` separator is accepted too, and 1 to 9 fractional digits).
    ///
    /// Returns `None` when the text is not such a datetime.
    pub fn parse_sqlalchemy(text: &str) -> Option<Self> {
        let text = text.trim();
        let (date_part, time_part) = match text.find([' ', 'T']) {
            Some(i) => (&text[..i], Some(text[i + 1..].trim())),
            None => (text, None),
        };
        let date = parse_date(date_part)?;
        let time = match time_part {
            Some(t) if !t.is_empty() => parse_time(t)?,
            _ => Time::MIDNIGHT,
        };
        Some(Self(PrimitiveDateTime::new(date, time)))
    }
}

fn number<T: std::str::FromStr>(s: &str, len: std::ops::RangeInclusive<usize>) -> Option<T> {
    if !len.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.splitn(3, '-');
    let year: i32 = number(parts.next()?, 4..=4)?;
    let month: u8 = number(parts.next()?, 1..=2)?;
    let day: u8 = number(parts.next()?, 1..=2)?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

fn parse_time(s: &str) -> Option<Time> {
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (s, None),
    };
    let mut parts = hms.splitn(3, ':');
    let hour: u8 = number(parts.next()?, 1..=2)?;
    let minute: u8 = number(parts.next()?, 1..=2)?;
    let second: u8 = match parts.next() {
        Some(sec) => number(sec, 1..=2)?,
        None => 0,
    };
    let nanos: u32 = match frac {
        Some(f) => {
            let digits: u32 = number(f, 1..=9)?;
            let scale = 10u32.checked_pow(9 - u32::try_from(f.len()).ok()?)?;
            digits.checked_mul(scale)?
        }
        None => 0,
    };
    Time::from_hms_nano(hour, minute, second, nanos).ok()
}

impl Type<Sqlite> for DbDateTime {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
            || <PrimitiveDateTime as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for DbDateTime {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<'_, Sqlite>>::encode(self.to_sqlalchemy(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for DbDateTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let is_text = <String as Type<Sqlite>>::compatible(&value.type_info());
        if is_text {
            let text = <String as Decode<'r, Sqlite>>::decode(value)?;
            Self::parse_sqlalchemy(&text)
                .ok_or_else(|| format!("not a SQLAlchemy datetime: {text:?}").into())
        } else {
            // Some other writer stored a number (Julian day or Unix time): let sqlx read it.
            <PrimitiveDateTime as Decode<'r, Sqlite>>::decode(value).map(Self)
        }
    }
}

impl Type<Postgres> for DbDateTime {
    fn type_info() -> PgTypeInfo {
        <PrimitiveDateTime as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <PrimitiveDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for DbDateTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <PrimitiveDateTime as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for DbDateTime {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <PrimitiveDateTime as Decode<'r, Postgres>>::decode(value).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_six_digits() {
        let t = DbDateTime(datetime!(2024-01-02 03:04:05.5));
        assert_eq!(t.to_sqlalchemy(), "2024-01-02 03:04:05.500000");
        let t = DbDateTime(datetime!(2024-01-02 03:04:05));
        assert_eq!(t.to_sqlalchemy(), "2024-01-02 03:04:05.000000");
        let t = DbDateTime(datetime!(2024-01-02 03:04:05.123456789));
        assert_eq!(t.to_sqlalchemy(), "2024-01-02 03:04:05.123456");
    }

    #[test]
    fn parses_sqlalchemy_and_sqlite_forms() {
        let cases = [
            (
                "2024-01-02 03:04:05.000123",
                datetime!(2024-01-02 03:04:05.000123),
            ),
            ("2024-01-02 03:04:05", datetime!(2024-01-02 03:04:05)),
            ("2024-01-02T03:04:05.5", datetime!(2024-01-02 03:04:05.5)),
            ("2024-01-02 03:04", datetime!(2024-01-02 03:04:00)),
            ("2024-01-02", datetime!(2024-01-02 00:00:00)),
            (
                "2024-01-02 03:04:05.123456789",
                datetime!(2024-01-02 03:04:05.123456789),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                DbDateTime::parse_sqlalchemy(text),
                Some(DbDateTime(want)),
                "{text}"
            );
        }
        for bad in [
            "",
            "2024-13-01",
            "2024-01-02 25:00:00",
            "x",
            "2024-01-02 03:04:05.",
            "24-01-02",
        ] {
            assert_eq!(DbDateTime::parse_sqlalchemy(bad), None, "{bad}");
        }
    }
}
