//! ARPA files: export → import gives the same distributions and perplexity for every method that
//! can be exported; parse errors name the line.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::lm::eval::perplexity;
use crate::lm::LanguageModel;
use crate::ngram::arpa::{self, ArpaModel};
use crate::ngram::smoothing::{Method, Smoothing};
use crate::ngram::{NgramConfig, NgramModel};
use crate::session::{RunConfig, Session};
use crate::text::{DataConfig, Dataset, Tokenizer, TokenizerKind, BOS, EOS, UNK};

const SHAKESPEARE: &str = include_str!("../../../tests/data/tinyshakespeare.txt");

fn dataset() -> Dataset {
    let text: String = SHAKESPEARE.lines().take(800).collect::<Vec<_>>().join("\n");
    let cfg = DataConfig { tokenizer: Tokenizer::new(TokenizerKind::Whitespace, false), ..DataConfig::default() };
    Dataset::from_corpus(&text, &cfg, 1).unwrap()
}

#[test]
fn round_trip_keeps_distributions_and_perplexity() {
    let d = dataset();
    let methods = [
        Smoothing::of(Method::Mle),
        Smoothing::of(Method::Katz),
        Smoothing::of(Method::Absolute),
        Smoothing::of(Method::WittenBell),
        Smoothing::of(Method::Kn),
        Smoothing { discount_fallback: true, ..Smoothing::of(Method::ModifiedKn) },
        Smoothing { lambdas: Some(vec![0.1, 0.2, 0.3, 0.4]), ..Smoothing::of(Method::Interpolation) },
    ];
    for s in methods {
        let method = s.method;
        let m = NgramModel::train(&d.train, &d.vocab, &NgramConfig { order: 3, smoothing: s }, &mut |_, _| {}).unwrap();
        let text = m.to_arpa().unwrap();
        let back = ArpaModel::parse(&text).unwrap();
        assert_eq!(back.order(), 3);
        // The file's vocabulary lists the same tokens ([UNK] as <unk>), so ids line up after remapping.
        let map: Vec<u32> = d.vocab.tokens().iter().map(|t| back.vocab().id(t)).collect();
        assert_eq!(back.vocab().len(), d.vocab.len());
        let p1 = perplexity(&m, &d.valid);
        let mapped: Vec<u32> = d.valid.iter().map(|&t| map[t as usize]).collect();
        let p2 = perplexity(&back, &mapped);
        let same = |a: f64, b: f64| a == b || (a - b).abs() <= 1e-12 * a.abs();
        assert!(same(p1.perplexity, p2.perplexity), "{method:?}: {} vs {}", p1.perplexity, p2.perplexity);
        assert_eq!(p1.m, p2.m);
        // Same next-token distributions on a few contexts.
        let (mut d1, mut d2) = (vec![0.0; d.vocab.len()], vec![0.0; d.vocab.len()]);
        for start in [0, 17, 101, 400] {
            let h: Vec<u32> = std::iter::once(BOS).chain(d.valid[start..].iter().copied().filter(|&t| t != BOS && t != EOS).take(2)).collect();
            let (mut s1, mut s2) = (m.stream(), back.stream());
            h.iter().for_each(|&t| s1.push(t));
            h.iter().for_each(|&t| s2.push(map[t as usize]));
            s1.distribution(&mut d1);
            s2.distribution(&mut d2);
            for (w, &p) in d1.iter().enumerate() {
                assert!(same(p, d2[map[w] as usize]), "{method:?} P({w})");
            }
        }
        // Exporting the imported model reproduces the file's n-grams and numbers.
        let again = back.to_arpa();
        let (f1, f2) = (arpa::parse(&text).unwrap(), arpa::parse(&again).unwrap());
        for (o1, o2) in f1.orders.iter().zip(&f2.orders) {
            let mut o2: Vec<_> = o2.iter().map(|g| (g.words.join(" "), g.log10_prob, g.log10_backoff)).collect();
            let mut o1: Vec<_> = o1.iter().map(|g| (g.words.join(" "), g.log10_prob, g.log10_backoff)).collect();
            o1.sort_by(|a, b| a.0.cmp(&b.0));
            o2.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(o1.len(), o2.len());
            for (a, b) in o1.iter().zip(&o2) {
                assert_eq!(a.0, b.0);
                assert!((a.1 - b.1).abs() < 1e-12 && (a.2.unwrap_or(0.0) - b.2.unwrap_or(0.0)).abs() < 1e-12, "{method:?} {a:?} {b:?}");
            }
        }
    }
}

#[test]
fn unk_is_written_as_arpa_unk_and_session_round_trip() {
    let corpus: String = SHAKESPEARE.lines().take(300).collect::<Vec<_>>().join("\n");
    let mut cfg = RunConfig::default();
    cfg.data.tokenizer = Tokenizer::new(TokenizerKind::Whitespace, false);
    cfg.model = crate::session::ModelConfig::new("ngram", &NgramConfig {
        smoothing: Smoothing { discount_fallback: true, ..Smoothing::default() },
        ..NgramConfig::default()
    });
    let mut s = Session::new(&corpus, cfg.clone()).unwrap();
    s.train_to_end().unwrap();
    let text = s.arpa().unwrap();
    assert!(text.starts_with("# LM Playground: 3-gram"));
    assert!(text.contains("\t<unk>\t"));
    assert!(!text.contains("[UNK]"));
    let valid: String = SHAKESPEARE.lines().skip(300).take(50).collect::<Vec<_>>().join("\n");
    let imported = Session::from_arpa(&text, cfg).unwrap();
    let (a, b) = (s.score(&valid).unwrap(), imported.score(&valid).unwrap());
    assert!((a.perplexity - b.perplexity).abs() < 1e-9 * a.perplexity);
    assert_eq!((a.m, a.oov_tokens), (b.m, b.oov_tokens));
    assert_eq!(imported.view("sparseness", &serde_json::json!({})).unwrap_err().code, "no-counts");
    let why = imported.view("explain", &serde_json::json!({"context": "First", "token": "Citizen:"})).unwrap();
    assert_eq!(why["method"], "arpa");
    assert_eq!(imported.model().unwrap().vocab().token(UNK), "[UNK]");
}

#[test]
fn add_k_cannot_be_exported() {
    let d = dataset();
    let cfg = NgramConfig { order: 2, smoothing: Smoothing::of(Method::Addk) };
    let m = NgramModel::train(&d.train, &d.vocab, &cfg, &mut |_, _| {}).unwrap();
    assert_eq!(m.to_arpa().unwrap_err().code, "not-arpa");
}

#[test]
fn a_file_without_unk_gives_it_kenlm_substitute() {
    let text = "\\data\\\nngram 1=3\n\n\\1-grams:\n-0.5\t<s>\t0\n-0.30103\ta\n-0.30103\t</s>\n\n\\end\\\n";
    let m = ArpaModel::parse(text).unwrap();
    assert_eq!(m.order(), 1);
    assert!((m.prob(&[BOS], UNK).log10() - arpa::MISSING_UNK_LOG10).abs() < 1e-9);
    assert!((m.prob(&[BOS], m.vocab().id("a")) - 0.5).abs() < 1e-5);
}

#[test]
fn backoff_is_applied_when_an_ngram_is_missing() {
    // P(b | a) is listed; P(a | a) = backoff(a) · P(a) = 10^-0.2 · 10^-0.4.
    let text = "junk before data is ignored\n\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1\t<unk>\n0\t<s>\t-0.1\n-0.4\ta\t-0.2\n-0.6\tb\n\n\\2-grams:\n-0.05\t<s> a\n-0.3\ta b\n\\end\\\n";
    let m = ArpaModel::parse(text).unwrap();
    let (a, b) = (m.vocab().id("a"), m.vocab().id("b"));
    assert!((m.prob(&[BOS, a], b).log10() + 0.3).abs() < 1e-12);
    assert!((m.prob(&[BOS, a], a).log10() + 0.6).abs() < 1e-12);
    assert!((m.prob(&[BOS], b).log10() + 0.7).abs() < 1e-12);
    assert_eq!(m.prob(&[BOS], BOS), 0.0);
}

#[test]
fn parse_errors_name_the_line() {
    let cases = [
        ("hello\nworld\n", "ARPA line 2: no \\data\\ line"),
        ("\\data\\\nngram 1=2\nngram x=3\n", "ARPA line 3: bad n-gram order 'x'"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\nzz\tb\n\\end\\\n", "ARPA line 6: expected a probability (a log10 number), found 'zz'"),
        ("\\data\\\nngram 1=3\n\n\\1-grams:\n-1\ta\n-1\tb\n\\end\\\n", "ARPA line 6: line 2 declares 3 1-grams but the \\1-grams: section has 2"),
        ("\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1\ta\t0\n\n\\2-grams:\n-1\ta\n\\end\\\n", "ARPA line 9: a 2-gram line needs a log10 probability, 2 words"),
        ("\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1\ta\t0\n\\2-grams:\n-1\ta q\n\\end\\\n", "ARPA line 8: 'q' is not among the 1-grams"),
        ("\\data\\\nngram 1=1\n\n\\1-grams:\n-1\ta\n", "ARPA line 6: the file ends without \\end\\"),
        ("\\data\\\nngram 1=1\n\n\\2-grams:\n-1\ta\n\\end\\\n", "ARPA line 4: expected \\1-grams:, found '\\2-grams:'"),
        ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n-1\ta\n\\end\\\n", "ARPA line 6: the unigram 'a' is listed twice"),
        // A forged count must not make the parser reserve memory for it (it used to abort).
        ("\\data\\\nngram 1=1000000000\n\n\\1-grams:\n-1\ta\n\\end\\\n", "ARPA line 5: line 2 declares 1000000000 1-grams"),
    ];
    for (text, want) in cases {
        let e = ArpaModel::parse(text).err().unwrap_or_else(|| panic!("no error for {text:?}"));
        assert_eq!(e.code, "arpa-parse");
        assert!(e.message.starts_with(want), "got '{}', want '{want}'", e.message);
    }
}
