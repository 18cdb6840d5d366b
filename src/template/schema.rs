//! What one item's value may hold ([`Schema`]: SNMS's `string` with lengths, and idnode's number, date,
//! enumeration, URL and identifier reference), and why a record breaks its template ([`Violation`]), in English
//! for the REST and gRPC errors and in Chinese as SNMS nodes answer.

use serde::{Deserialize, Serialize};

use crate::id::{Handle, Prefix, SuffixCase};

/// The schema of an item's value (`metadata` in SNMS), tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Schema {
    /// Text of `minLength` to `maxLength` characters.
    #[serde(rename_all = "camelCase")]
    String {
        /// Fewest characters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_length: Option<u32>,
        /// Most characters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<u32>,
    },
    /// A decimal number in `[minimum, maximum]`; only whole numbers when `integer`.
    Number {
        /// Least value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minimum: Option<f64>,
        /// Greatest value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        maximum: Option<f64>,
        /// Whether only whole numbers are valid.
        #[serde(default)]
        integer: bool,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of `values`.
    Enumeration {
        /// The allowed values.
        values: Vec<String>,
    },
    /// An `http` or `https` URL.
    Url,
    /// An identifier (`prefix/suffix`), under `prefix` when given.
    Reference {
        /// The prefix the identifier must be under.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
}

impl Default for Schema {
    fn default() -> Self {
        Schema::String { min_length: None, max_length: None }
    }
}

/// Longest value any schema accepts, in bytes: a handle value's data is bounded anyway.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Why a value breaks its item's schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Not UTF-8 text.
    NotText,
    /// Fewer characters than the minimum.
    TooShort(u32),
    /// More characters than the maximum.
    TooLong(u32),
    /// Not a decimal number.
    NotNumber,
    /// A fraction where only whole numbers are valid.
    NotInteger,
    /// Below the minimum.
    BelowMinimum(f64),
    /// Above the maximum.
    AboveMaximum(f64),
    /// Not a `YYYY-MM-DD` date.
    NotDate,
    /// Not one of the enumeration's values.
    NotListed(Vec<String>),
    /// Not an `http`/`https` URL.
    NotUrl,
    /// Not an identifier.
    NotIdentifier,
    /// An identifier outside the prefix.
    OutsidePrefix(String),
}

impl Schema {
    /// Checks the schema itself.
    pub(super) fn check(&self) -> Result<(), String> {
        match self {
            Schema::String { min_length: Some(min), max_length: Some(max) } if min > max => {
                Err(format!("minLength {min} exceeds maxLength {max}"))
            }
            Schema::Number { minimum: Some(min), maximum: Some(max), .. } if min > max => {
                Err(format!("minimum {min} exceeds maximum {max}"))
            }
            Schema::Number { minimum, maximum, .. } if minimum.or(*maximum).is_some_and(|x| !x.is_finite()) => {
                Err("minimum and maximum must be finite".into())
            }
            Schema::Enumeration { values } if values.is_empty() => Err("an enumeration needs values".into()),
            Schema::Reference { prefix: Some(p) } => Prefix::parse(p).map(|_| ()).map_err(|e| format!("prefix: {e}")),
            _ => Ok(()),
        }
    }

    /// Checks one value's text.
    pub fn check_value(&self, text: &str) -> Result<(), Rule> {
        if text.len() > MAX_VALUE_BYTES {
            return Err(Rule::TooLong((MAX_VALUE_BYTES / 4) as u32));
        }
        match self {
            Schema::String { min_length, max_length } => {
                let n = text.chars().count() as u64;
                match (min_length, max_length) {
                    (Some(min), _) if n < u64::from(*min) => Err(Rule::TooShort(*min)),
                    (_, Some(max)) if n > u64::from(*max) => Err(Rule::TooLong(*max)),
                    _ => Ok(()),
                }
            }
            Schema::Number { minimum, maximum, integer } => {
                let x: f64 = text.trim().parse().ok().filter(|x: &f64| x.is_finite()).ok_or(Rule::NotNumber)?;
                if *integer && x.fract() != 0.0 {
                    return Err(Rule::NotInteger);
                }
                match (minimum, maximum) {
                    (Some(min), _) if x < *min => Err(Rule::BelowMinimum(*min)),
                    (_, Some(max)) if x > *max => Err(Rule::AboveMaximum(*max)),
                    _ => Ok(()),
                }
            }
            Schema::Date => {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                time::Date::parse(text, format).map(|_| ()).map_err(|_| Rule::NotDate)
            }
            Schema::Enumeration { values } => {
                if values.iter().any(|v| v == text) {
                    Ok(())
                } else {
                    Err(Rule::NotListed(values.clone()))
                }
            }
            Schema::Url => is_url(text).then_some(()).ok_or(Rule::NotUrl),
            Schema::Reference { prefix } => {
                let h = Handle::parse(text, SuffixCase::Sensitive).map_err(|_| Rule::NotIdentifier)?;
                match prefix.as_deref().map(Prefix::parse) {
                    Some(Ok(p)) if !h.prefix().is_within(&p) => Err(Rule::OutsidePrefix(p.to_string())),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Whether `s` is an absolute `http`/`https` URL with a host and no whitespace.
fn is_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Why a record does not satisfy the template it names (or a prefix's rule that it name one).
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// The record names a template that does not exist (or is not published).
    UnknownTemplate(String),
    /// The version given at index 1001 is not the named template's.
    VersionMismatch {
        /// The version the record gives.
        given: String,
        /// The named template's version.
        expected: String,
    },
    /// A prefix's configuration requires a template and the record names none.
    TemplateRequired(String),
    /// An enabled required item has no value.
    Missing {
        /// Its index.
        index: u32,
        /// Its type.
        ty: String,
        /// Its Chinese name.
        name: String,
    },
    /// A value at an index of the template's range that no item defines.
    UnknownIndex {
        /// The index.
        index: u32,
    },
    /// A value at the index of a disabled item.
    Disabled {
        /// The index.
        index: u32,
        /// The item's name.
        name: String,
    },
    /// A value whose type is not its item's.
    WrongType {
        /// The index.
        index: u32,
        /// The item's type.
        expected: String,
    },
    /// A value its item's schema refuses.
    Invalid {
        /// The index.
        index: u32,
        /// The item's name.
        name: String,
        /// The rule broken.
        rule: Rule,
    },
}

impl Violation {
    /// The message in English.
    pub fn english(&self) -> String {
        match self {
            Self::UnknownTemplate(t) => format!("template {t} does not exist or is not published"),
            Self::VersionMismatch { given, expected } => {
                format!("index 1001 gives template version {given}, but the named template is version {expected}")
            }
            Self::TemplateRequired(p) => format!("records under prefix {p} must name a template (index 1000)"),
            Self::Missing { index, ty, .. } => format!("index {index} ({ty}) is required by the template"),
            Self::UnknownIndex { index } => format!("index {index} does not exist in the template"),
            Self::Disabled { index, .. } => format!("index {index} is disabled in the template"),
            Self::WrongType { index, expected } => format!("index {index} must have type {expected}"),
            Self::Invalid { index, rule, .. } => format!("index {index}: {}", rule.english()),
        }
    }

    /// The message in Chinese, as SNMS nodes answer.
    pub fn chinese(&self) -> String {
        match self {
            Self::UnknownTemplate(t) => format!("模板{t}不存在或未发布"),
            Self::VersionMismatch { given, expected } => format!("模板版本{given}与模板{expected}不一致"),
            Self::TemplateRequired(p) => format!("前缀{p}下的标识必须指定模板"),
            Self::Missing { index, name, .. } => format!("缺少必填项，索引{index}（{name}）不能为空"),
            Self::UnknownIndex { index } => format!("非法操作，索引{index}在模板中不存在"),
            Self::Disabled { index, .. } => format!("非法操作，索引{index}在模板中已停用"),
            Self::WrongType { index, expected } => format!("索引{index}的类型必须为{expected}"),
            Self::Invalid { index, name, rule } => format!("索引{index}（{name}）{}", rule.chinese()),
        }
    }
}

impl Rule {
    fn english(&self) -> String {
        match self {
            Rule::NotText => "the value must be UTF-8 text".into(),
            Rule::TooShort(n) => format!("the value must have at least {n} characters"),
            Rule::TooLong(n) => format!("the value must have at most {n} characters"),
            Rule::NotNumber => "the value must be a number".into(),
            Rule::NotInteger => "the value must be a whole number".into(),
            Rule::BelowMinimum(x) => format!("the value must be at least {x}"),
            Rule::AboveMaximum(x) => format!("the value must be at most {x}"),
            Rule::NotDate => "the value must be a date (YYYY-MM-DD)".into(),
            Rule::NotListed(v) => format!("the value must be one of: {}", v.join(", ")),
            Rule::NotUrl => "the value must be an http or https URL".into(),
            Rule::NotIdentifier => "the value must be an identifier (prefix/suffix)".into(),
            Rule::OutsidePrefix(p) => format!("the value must be an identifier under prefix {p}"),
        }
    }

    fn chinese(&self) -> String {
        match self {
            Rule::NotText => "的值必须为文本".into(),
            Rule::TooShort(n) => format!("的长度不能少于{n}个字符"),
            Rule::TooLong(n) => format!("的长度不能超过{n}个字符"),
            Rule::NotNumber => "的值必须为数字".into(),
            Rule::NotInteger => "的值必须为整数".into(),
            Rule::BelowMinimum(x) => format!("的值不能小于{x}"),
            Rule::AboveMaximum(x) => format!("的值不能大于{x}"),
            Rule::NotDate => "的值必须为日期（YYYY-MM-DD）".into(),
            Rule::NotListed(v) => format!("的值必须为以下之一：{}", v.join("、")),
            Rule::NotUrl => "的值必须为http或https网址".into(),
            Rule::NotIdentifier => "的值必须为标识（前缀/后缀）".into(),
            Rule::OutsidePrefix(p) => format!("的值必须为前缀{p}下的标识"),
        }
    }
}
