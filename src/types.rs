//! Typed values for the domains of the API: roles and grant types (open to values a newer
//! Squirro adds), API versions, dates.

use crate::Error;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An enum of the values the API documents today, open to the values a newer Squirro adds: an
/// unknown value is kept as `Other` (and sent back as it came), so a reply naming a new role
/// still decodes and a new role is not a breaking change here.
macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident, $param:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A value this version of the crate does not know (one a newer Squirro added),
            /// as the server spelled it. Made by [`from_wire`](Self::from_wire) and by
            /// deserializing; it is sent, displayed and serialized exactly as it came, and
            /// compares equal to the known variant of the same spelling.
            Other(String),
        }

        impl $name {
            /// Every value this version knows, in the API's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(s) => s,
                }
            }

            /// The value of this spelling, known or not: what a reply carries. Unlike
            /// [`parse`](str::parse), which refuses unknown values to catch typos, this keeps
            /// any other spelling as [`Other`](Self::Other).
            pub fn from_wire(s: impl AsRef<str> + Into<String>) -> Self {
                match s.as_ref() {
                    $($text => $name::$variant,)+
                    _ => $name::Other(s.into()),
                }
            }

            /// Whether this is a value this version of the crate knows (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $name {}

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
                self.as_str().hash(h)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            /// Parses one of the values this version knows; anything else is an
            /// [`Error::InvalidInput`] naming the parameter and the allowed values (a typo
            /// must not reach the server). [`from_wire`](Self::from_wire) keeps any value.
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Error::invalid(
                        $param,
                        format!(
                            "unknown value {s:?}; expected one of: {} (or {}::from_wire for a value this version does not know)",
                            [$($text),+].join(", "),
                            stringify!($name),
                        ),
                    )),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            /// Any string: a known value becomes its variant, any other is kept as `Other`.
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d).map($name::from_wire)
            }
        }
    };
}

open_enum!(
    /// A user's role on the server (in a tenant or workspace).
    ///
    /// ```
    /// use squirro_user_api::ServerRole;
    /// assert_eq!("reader".parse::<ServerRole>().unwrap(), ServerRole::Reader);
    /// assert!("root".parse::<ServerRole>().is_err()); // a typo, or a role this version lacks
    /// // A role a newer Squirro sends is kept, and sent back as it came:
    /// let auditor = ServerRole::from_wire("auditor");
    /// assert_eq!(auditor, ServerRole::Other("auditor".into()));
    /// assert_eq!(auditor.to_string(), "auditor");
    /// assert!(!auditor.is_known());
    /// ```
    ServerRole, "role", {
        /// Administers the tenant.
        Admin => "admin",
        /// A regular user.
        User => "user",
        /// A demo user.
        Demo => "demo",
        /// Read-only access.
        Reader => "reader",
    }
);

open_enum!(
    /// A member's role in a project.
    ///
    /// ```
    /// use squirro_user_api::ProjectRole;
    /// assert_eq!(ProjectRole::Member.to_string(), "member");
    /// ```
    ProjectRole, "role", {
        /// Reads the project.
        Reader => "reader",
        /// Reads and writes the project.
        Member => "member",
        /// Administers the project.
        Admin => "admin",
    }
);

open_enum!(
    /// The type of a grant made with [`Client::new_grant`](crate::Client::new_grant).
    GrantType, "type", {
        /// A grant for the user.
        User => "user",
        /// A grant for a service acting for the user (see `for_client_id`).
        Service => "service",
    }
);

/// A version of the user API, as it appears in paths (`v0`, `v1`, ...).
///
/// ```
/// use squirro_user_api::ApiVersion;
/// let v: ApiVersion = "v1".parse().unwrap();
/// assert_eq!(v, ApiVersion::V1);
/// assert!("1".parse::<ApiVersion>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `v0`, the client's default.
    #[default]
    V0,
    /// `v1`, the default of the user data methods.
    V1,
    /// `v2`.
    V2,
}

impl ApiVersion {
    /// The version as it appears in paths.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V0 => "v0",
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "v0" => Ok(ApiVersion::V0),
            "v1" => Ok(ApiVersion::V1),
            "v2" => Ok(ApiVersion::V2),
            _ => Err(Error::invalid(
                "version",
                format!("unknown API version {s:?}; expected v0, v1 or v2"),
            )),
        }
    }
}

/// A date and time (UTC, whole seconds), rendered on the wire as `%Y-%m-%dT%H:%M:%S`, as the
/// Python client's `_format_date` does.
///
/// ```
/// use squirro_user_api::Timestamp;
/// let t = Timestamp::new(2014, 1, 9, 8, 40, 0).unwrap();
/// assert_eq!(t.to_string(), "2014-01-09T08:40:00");
/// assert_eq!("2014-01-09T08:40:00".parse::<Timestamp>().unwrap(), t);
/// assert!(Timestamp::new(2014, 2, 30, 0, 0, 0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl Timestamp {
    const EPOCH: Timestamp = Timestamp {
        year: 1970,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
    };
    const LAST: Timestamp = Timestamp {
        year: 9999,
        month: 12,
        day: 31,
        hour: 23,
        minute: 59,
        second: 59,
    };

    /// A checked date and time; an impossible one (month 13, February 30th, hour 24) is an
    /// [`Error::InvalidInput`].
    pub fn new(
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<Self, Error> {
        let bad = |what: &str| {
            Err(Error::invalid(
                "date",
                format!(
                    "{what} out of range in {year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
                ),
            ))
        };
        if !(1..=9999).contains(&year) {
            return bad("year");
        }
        if !(1..=12).contains(&month) {
            return bad("month");
        }
        if day == 0 || day > days_in_month(year, month) {
            return bad("day");
        }
        if hour > 23 || minute > 59 || second > 59 {
            return bad("time");
        }
        Ok(Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// The UTC date and time of a `SystemTime` (sub-seconds dropped).
    pub fn from_system_time(t: SystemTime) -> Result<Self, Error> {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::invalid("date", "before 1970"))?
            .as_secs();
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        let y = i32::try_from(y).map_err(|_| Error::invalid("date", "after the year 9999"))?;
        Timestamp::new(
            y,
            m,
            d,
            (rem / 3600) as u8,
            (rem / 60 % 60) as u8,
            (rem % 60) as u8,
        )
    }

    /// Now, in UTC (1970-01-01T00:00:00 on a machine whose clock is set before 1970, and
    /// 9999-12-31T23:59:59 on one set after 9999).
    pub fn now() -> Self {
        let now = SystemTime::now();
        Timestamp::from_system_time(now).unwrap_or(if now < UNIX_EPOCH {
            Timestamp::EPOCH
        } else {
            Timestamp::LAST
        })
    }

    /// This time plus a duration (whole seconds).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the result is after the year 9999.
    pub fn plus(self, d: Duration) -> Result<Self, Error> {
        let days = days_from_civil(self.year as i64, self.month, self.day);
        let secs =
            days * 86_400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64;
        let too_late = || Error::invalid("date", "after the year 9999");
        let total = i64::try_from(d.as_secs())
            .ok()
            .and_then(|d| secs.checked_add(d))
            .and_then(|t| u64::try_from(t.max(0)).ok())
            .ok_or_else(too_late)?;
        let at = UNIX_EPOCH
            .checked_add(Duration::from_secs(total))
            .ok_or_else(too_late)?;
        Timestamp::from_system_time(at)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days <-> civil date algorithms (proleptic Gregorian, days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl FromStr for Timestamp {
    type Err = Error;

    /// Parses `%Y-%m-%dT%H:%M:%S` (a space instead of the `T` is accepted).
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::invalid(
                "date",
                format!("{s:?} is not of the form YYYY-MM-DDTHH:MM:SS"),
            )
        };
        let b = s.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || !(b[10] == b'T' || b[10] == b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, Error> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        Timestamp::new(
            num(0..4)? as i32,
            num(5..7)? as u8,
            num(8..10)? as u8,
            num(11..13)? as u8,
            num(14..16)? as u8,
            num(17..19)? as u8,
        )
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn huge_durations_and_times_are_errors_not_panics_or_wraps() {
        let t = Timestamp::new(2014, 1, 9, 8, 40, 0).unwrap();
        for d in [
            Duration::MAX,
            Duration::from_secs(u64::MAX / 2),
            Duration::from_secs(1 << 40),
        ] {
            assert!(t.plus(d).is_err(), "{d:?}");
        }
        let far = UNIX_EPOCH + Duration::from_secs((1u64 << 32) * 366 * 86_400);
        assert!(Timestamp::from_system_time(far).is_err());
        assert!(Timestamp::now().plus(Duration::ZERO).is_ok());
    }

    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1000i64, 0, 1, 59, 60, 365, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn from_system_time_and_plus() {
        let t =
            Timestamp::from_system_time(UNIX_EPOCH + Duration::from_secs(1_389_256_800)).unwrap();
        assert_eq!(t.to_string(), "2014-01-09T08:40:00");
        assert_eq!(
            t.plus(Duration::from_secs(86_400 * 23))
                .unwrap()
                .to_string(),
            "2014-02-01T08:40:00"
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            "",
            "2014-01-09",
            "2014-13-09T08:40:00",
            "2014-01-09T24:00:00",
            "2014-0a-09T08:40:00",
            "+014-01-09T08:40:00",
        ] {
            let e = bad.parse::<Timestamp>().unwrap_err();
            assert!(
                matches!(e, Error::InvalidInput { ref param, .. } if param == "date"),
                "{bad}: {e}"
            );
        }
        assert!("2016-02-29 23:59:59".parse::<Timestamp>().is_ok());
    }
}
