//! Strict RFC 3339 date-times and ISO dates, as microseconds / days since the Unix epoch.
//!
//! Accepted: `YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|+HH:MM|-HH:MM]` and `YYYY-MM-DD`, years 0001-9999,
//! real calendar days, no leap seconds. A date-time without an offset is read as UTC, as the row
//! path does (`naive_timestamps="utc"`). Anything else is `None` (the caller rejects the line and
//! the slower Python path decides).

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, the range of Python's datetime.
const MIN_MICROS: i64 = -62_135_596_800_000_000;
const MAX_MICROS: i64 = 253_402_300_799_999_999;

fn digits(s: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` (exactly) as days since the epoch.
fn date_prefix(s: &[u8]) -> Option<i64> {
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let y = i64::from(digits(&s[0..4])?);
    let m = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    if y < 1 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

pub fn parse_date(s: &str) -> Option<i32> {
    let s = s.as_bytes();
    if s.len() != 10 {
        return None;
    }
    i32::try_from(date_prefix(s)?).ok()
}

pub fn parse_timestamp_us(s: &str) -> Option<i64> {
    let s = s.as_bytes();
    if s.len() < 19 || s[10] != b'T' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let days = date_prefix(s)?;
    let hh = digits(&s[11..13])?;
    let mm = digits(&s[14..16])?;
    let ss = digits(&s[17..19])?;
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let mut pos = 19;
    let mut micros: i64 = 0;
    if s.get(pos) == Some(&b'.') {
        let start = pos + 1;
        let mut end = start;
        while end < s.len() && s[end].is_ascii_digit() {
            end += 1;
        }
        let n = end - start;
        if n == 0 || n > 6 {
            return None;
        }
        micros = i64::from(digits(&s[start..end])?) * 10_i64.pow(6 - n as u32);
        pos = end;
    }
    let offset_secs: i64 = match &s[pos..] {
        b"Z" | b"" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = i64::from(digits(&[*h1, *h2])?);
            let om = i64::from(digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = oh * 3600 + om * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let local = days * MICROS_PER_DAY
        + (i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss)) * 1_000_000
        + micros;
    let utc = local - offset_secs * 1_000_000;
    if !(MIN_MICROS..=MAX_MICROS).contains(&utc) {
        return None;
    }
    Some(utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp_us("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp_us("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_timestamp_us("1970-01-01T00:00:00.5Z"), Some(500_000));
        assert_eq!(parse_timestamp_us("1969-12-31T23:59:59.999999Z"), Some(-1));
        assert_eq!(
            parse_timestamp_us("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000_000)
        );
        assert_eq!(parse_timestamp_us("2023-02-29T00:00:00Z"), None);
        assert_eq!(
            parse_timestamp_us("2023-01-01T00:00:00"),
            Some(1_672_531_200_000_000)
        );
        assert_eq!(parse_timestamp_us("2023-01-01T00:00:00."), None);
        assert_eq!(parse_timestamp_us("2023-01-01T00:00:00.1234567Z"), None);
        assert_eq!(parse_timestamp_us("2023-01-01 00:00:00Z"), None);
        assert_eq!(parse_timestamp_us("0001-01-01T00:00:00+01:00"), None);
        assert_eq!(
            parse_timestamp_us("9999-12-31T23:59:59.999999Z"),
            Some(MAX_MICROS)
        );
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("0000-01-01"), None);
    }
}
