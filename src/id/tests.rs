use super::*;
use proptest::prelude::*;

fn h(s: &str) -> Result<Handle, IdError> {
    Handle::parse(s, SuffixCase::Sensitive)
}

#[test]
fn parses_prefix_and_suffix() {
    let x = h("88.798.1/JDZ-2024-000123").unwrap();
    assert_eq!(x.prefix_str(), "88.798.1");
    assert_eq!(x.suffix(), "JDZ-2024-000123");
    assert_eq!(x.key(), "88.798.1/JDZ-2024-000123");
}

#[test]
fn suffix_may_contain_slashes_colons_and_chinese() {
    let x = h("88.798.1/ABC/7:景德镇.v1").unwrap();
    assert_eq!(x.prefix_str(), "88.798.1");
    assert_eq!(x.suffix(), "ABC/7:景德镇.v1");
}

#[test]
fn prefix_is_case_insensitive_but_the_answer_keeps_it_as_written() {
    let a = h("0.na/88.798").unwrap();
    let b = h("0.NA/88.798").unwrap();
    assert_eq!(a.key(), b.key());
    assert_eq!(a.as_str(), "0.na/88.798");
    assert_eq!(a.administered_prefix().unwrap().as_str(), "88.798");
}

#[test]
fn prefix_handles_fold_case_of_their_suffix() {
    assert_eq!(h("0.na/88.798.ab").unwrap().key(), "0.NA/88.798.AB");
    assert_eq!(h("0.NA/88.798.AB").unwrap().key(), Handle::prefix_handle(&Prefix::parse("88.798.ab").unwrap()).key());
}

#[test]
fn suffix_case_is_configurable() {
    assert_ne!(h("88.798.1/abc").unwrap().key(), h("88.798.1/ABC").unwrap().key());
    let i = |s| Handle::parse(s, SuffixCase::Insensitive).unwrap();
    assert_eq!(i("88.798.1/abc").key(), i("88.798.1/ABC").key());
    assert_eq!(i("88.798.1/abc").as_str(), "88.798.1/abc");
}

#[test]
fn rejections_say_which_rule_and_where() {
    assert_eq!(h(""), Err(IdError::Empty));
    assert_eq!(h("88.798.1"), Err(IdError::MissingSlash));
    assert_eq!(h("88.798.1/"), Err(IdError::EmptySuffix));
    assert_eq!(h("/x"), Err(IdError::EmptySegment(0)));
    assert_eq!(h("88..1/x"), Err(IdError::EmptySegment(3)));
    assert_eq!(h("88.798./x"), Err(IdError::EmptySegment(7)));
    assert_eq!(h("88 1/x"), Err(IdError::PrefixChar { ch: ' ', at: 2 }));
    assert_eq!(h("hdl:88/x"), Err(IdError::PrefixChar { ch: ':', at: 3 }));
    assert_eq!(h("88/a\nb"), Err(IdError::ControlChar { code: 10, at: 4 }));
    let long = format!("88/{}", "x".repeat(MAX_HANDLE_BYTES));
    assert!(matches!(h(&long), Err(IdError::TooLong { what: "handle", .. })));
    let longp = format!("{}/x", "9".repeat(MAX_PREFIX_BYTES + 1));
    assert!(matches!(h(&longp), Err(IdError::TooLong { what: "prefix", .. })));
    assert!(h("88.798.1/x").is_ok());
}

#[test]
fn prefix_hierarchy() {
    let p = Prefix::parse("88.798.1").unwrap();
    let root = Prefix::parse("88.798").unwrap();
    assert!(p.is_within(&root));
    assert!(root.is_within(&root));
    assert!(!Prefix::parse("88.7981").unwrap().is_within(&root));
    assert!(!root.is_within(&p));
    assert_eq!(p.parent(), Some(root.clone()));
    assert_eq!(Handle::prefix_handle(&p).as_str(), "0.NA/88.798.1");
}

proptest! {
    #[test]
    fn display_round_trips(prefix in "[0-9A-Za-z_-]{1,8}(\\.[0-9A-Za-z_-]{1,8}){0,4}",
                           suffix in "[^\\p{Cc}]{1,64}") {
        let s = format!("{prefix}/{suffix}");
        let x = h(&s).unwrap();
        prop_assert_eq!(x.to_string(), s.clone());
        let again = h(&x.to_string()).unwrap();
        prop_assert_eq!(again.key(), x.key());
        prop_assert_eq!(x.prefix_str(), prefix.as_str());
        prop_assert_eq!(x.suffix(), suffix.as_str());
    }

    #[test]
    fn key_is_case_folded_prefix(prefix in "[a-zA-Z0-9]{1,6}\\.[a-z0-9]{1,6}", suffix in "[a-zA-Z0-9./]{1,20}") {
        let x = h(&format!("{prefix}/{suffix}")).unwrap();
        let expected = format!("{}/{}", prefix.to_ascii_uppercase(), suffix);
        prop_assert_eq!(x.key(), expected.as_str());
    }

    #[test]
    fn never_panics(s in "\\PC{0,40}") {
        let _ = h(&s);
        let _ = Prefix::parse(&s);
    }
}
