use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Colour {
    Red,
    Blue,
}

impl Label for Colour {
    const KEY: &'static str = "colour";
    const ALL: &'static [Self] = &[Colour::Red, Colour::Blue];
    fn value(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Blue => "blue",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Size {
    Small,
    Large,
}

impl Label for Size {
    const KEY: &'static str = "size";
    const ALL: &'static [Self] = &[Size::Small, Size::Large];
    fn value(self) -> &'static str {
        match self {
            Self::Small => "small",
            Self::Large => "large",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

#[test]
fn families_keep_one_series_per_combination() {
    let m = Metrics::new();
    let f: Family<(Colour, Size), Counter> = m.family("test_pairs_total", "Pairs of colours.");
    f.get((Colour::Red, Size::Large)).increment(2);
    f.get((Colour::Blue, Size::Small)).increment(1);
    f.get((Colour::Red, Size::Large)).increment(1);
    let text = m.render();
    for line in [
        r#"test_pairs_total{colour="red",size="large"} 3"#,
        r#"test_pairs_total{colour="blue",size="small"} 1"#,
        "# HELP test_pairs_total Pairs of colours.",
        concat!(r#"idnode_build_info{version=""#, env!("CARGO_PKG_VERSION"), r#""} 1"#),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains(r#"colour="red",size="small""#), "unused series are not registered:\n{text}");
    let all: Family<Colour, Gauge> = m.family("test_colours", "Colours.").register_all(Colour::ALL.iter().copied());
    all.get(Colour::Blue).set(5.0);
    let text = m.render();
    assert!(text.lines().any(|l| l == r#"test_colours{colour="red"} 0"#), "{text}");
    assert!(text.lines().any(|l| l == r#"test_colours{colour="blue"} 5"#), "{text}");
}

#[test]
fn two_recorders_do_not_share_figures() {
    let (a, b) = (Metrics::new(), Metrics::new());
    a.counter("test_things_total", "Things.").increment(1);
    let _ = b.counter("test_things_total", "Things.");
    assert!(b.render().lines().any(|l| l == "test_things_total 0"), "{}", b.render());
}
