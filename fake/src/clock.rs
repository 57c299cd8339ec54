//! Wall-clock dates in the formats the user API uses, without a date crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Ten years: how long the fake says a grant is valid (`valid_to`); grants never really expire.
pub(crate) const GRANT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Formats a time as `YYYY-MM-DD HH:MM:SS` (UTC), the format of `created_at` / `valid_to`.
pub(crate) fn format_datetime(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_datetime(UNIX_EPOCH), "1970-01-01 00:00:00");
        let t = UNIX_EPOCH + Duration::from_secs(1_356_105_601); // the seed's example date
        assert_eq!(format_datetime(t), "2012-12-21 16:00:01");
        let leap = UNIX_EPOCH + Duration::from_secs(951_825_600); // 2000-02-29 12:00:00
        assert_eq!(format_datetime(leap), "2000-02-29 12:00:00");
    }
}
