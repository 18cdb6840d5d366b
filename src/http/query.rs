//! Query strings of the REST contract: repeated keys (`index=1&index=2`) and valueless booleans (`?pretty`).

use percent_encoding::percent_decode_str;

/// The decoded `key=value` pairs of a query string, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, Option<String>)>);

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

impl Params {
    /// Parses a raw query string (without the `?`).
    pub fn parse(q: Option<&str>) -> Self {
        let pairs = q
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), Some(decode(v))),
                None => (decode(p), None),
            })
            .collect();
        Self(pairs)
    }

    /// Every value given for `key` (valueless occurrences as "").
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// The last value of `key`, if present.
    pub fn last<'a>(&'a self, key: &'a str) -> Option<&'a str> {
        self.all(key).last()
    }

    /// A boolean: absent is `None`, valueless is true, otherwise `true|false|1|0|yes|no` (case-insensitive).
    pub fn flag(&self, key: &str) -> Result<Option<bool>, String> {
        match self.last(key) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "" | "true" | "1" | "yes" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "off" => Ok(Some(false)),
                _ => Err(format!("parameter {key}={v:?} is not a boolean (true or false)")),
            },
        }
    }

    /// An integer parameter; absent is `None`.
    pub fn int(&self, key: &str) -> Result<Option<i64>, String> {
        self.last(key)
            .map(|v| v.trim().parse::<i64>().map_err(|_| format!("parameter {key}={v:?} is not an integer")))
            .transpose()
    }
}

/// The `index` parameters: absent, `various`, or a list of indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexParam {
    /// No `index` parameter.
    None,
    /// `index=various`: the indexes of the body.
    Various,
    /// Explicit indexes.
    List(Vec<u32>),
}

impl IndexParam {
    /// Reads the `index` parameters.
    pub fn from(params: &Params) -> Result<Self, String> {
        let mut list = Vec::new();
        let mut various = false;
        for v in params.all("index") {
            if v.eq_ignore_ascii_case("various") {
                various = true;
            } else {
                list.push(
                    v.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("index={v:?} is not an index (0 to 4294967295) or 'various'"))?,
                );
            }
        }
        Ok(match (various, list.is_empty()) {
            (true, _) => Self::Various,
            (false, true) => Self::None,
            (false, false) => Self::List(list),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_valueless() {
        let p = Params::parse(Some("index=1&index=2&pretty&type=URL&type=HS_SITE.&callback=f&overwrite=false"));
        assert_eq!(p.all("index").collect::<Vec<_>>(), vec!["1", "2"]);
        assert_eq!(p.flag("pretty"), Ok(Some(true)));
        assert_eq!(p.flag("overwrite"), Ok(Some(false)));
        assert_eq!(p.flag("auth"), Ok(None));
        assert!(Params::parse(Some("pretty=maybe")).flag("pretty").is_err());
        assert_eq!(IndexParam::from(&p), Ok(IndexParam::List(vec![1, 2])));
        assert_eq!(IndexParam::from(&Params::parse(Some("index=various"))), Ok(IndexParam::Various));
        assert!(IndexParam::from(&Params::parse(Some("index=x"))).is_err());
        assert_eq!(Params::parse(Some("type=a%20b+c")).last("type"), Some("a b c"));
        assert_eq!(Params::parse(None).int("page"), Ok(None));
        assert_eq!(Params::parse(Some("page=-1")).int("page"), Ok(Some(-1)));
    }
}
