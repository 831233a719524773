//! N-gram model files: every method survives save → load with the same distributions and
//! perplexity, without recounting; damaged counts are refused with `file-corrupt`.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::modelfile::{self, TensorData};
use crate::ngram::smoothing::Method;
use crate::session::{ModelConfig, RunConfig, Session};
use crate::text::{TokenId, BOS};

const CORPUS: &str = "the cat sat on the mat\nthe dog sat on the log\na cat saw a dog on a mat\nthe end of the story\n\
                      the cat and the dog sat\na dog saw the cat\non the log the dog sat\nthe mat was red\n";

fn trained(method: Method) -> Session {
    let mut c = RunConfig { seed: 3, ..RunConfig::default() };
    c.data.valid_fraction = 0.25;
    let mut n = crate::ngram::NgramConfig { order: 3, ..Default::default() };
    n.smoothing.method = method;
    n.smoothing.discount_fallback = true; // tiny corpus
    c.model = ModelConfig::new("ngram", &n);
    let mut s = Session::new(&CORPUS.repeat(3), c).unwrap();
    s.train_to_end().unwrap();
    s
}

fn dist(s: &Session, history: &[TokenId]) -> Vec<f64> {
    let m = s.model().unwrap();
    let mut st = m.stream();
    history.iter().for_each(|&t| st.push(t));
    let mut d = vec![0.0; m.vocab().len()];
    st.distribution(&mut d);
    d
}

#[test]
fn every_method_round_trips_through_a_model_file() {
    for &method in Method::ALL {
        let s = trained(method);
        let bytes = s.save().unwrap();
        let back = Session::load(&bytes, Some(&CORPUS.repeat(3))).unwrap();
        assert_eq!(back.config, s.config, "{method:?}");
        let (a, b) = (s.report().unwrap().validation, back.report().unwrap().validation);
        assert_eq!(a.perplexity.to_bits(), b.perplexity.to_bits(), "{method:?}");
        let the = s.data.vocab.id("the");
        for h in [vec![BOS], vec![BOS, the], vec![BOS, the, s.data.vocab.id("cat")], vec![BOS, 9999 % s.data.vocab.len() as u32]] {
            assert_eq!(dist(&s, &h), dist(&back, &h), "{method:?} {h:?}");
        }
        // Without the corpus the model still generates and explains; views that need text say so.
        let alone = Session::load(&bytes, None).unwrap();
        assert_eq!(alone.view("sparseness", &serde_json::json!({})).unwrap_err().code, "no-corpus");
        assert!(alone.view("count-of-counts", &serde_json::json!({})).is_ok());
        let mut n = 0;
        alone.generate("the", &Default::default(), |_| { n += 1; n < 20 }).unwrap();
        assert_eq!(n, 20);
    }
}

#[test]
fn damaged_counts_are_refused() {
    let bytes = trained(Method::ModifiedKn).save().unwrap();
    let file = modelfile::read(&bytes).unwrap();
    let mangle = |name: &str, f: &dyn Fn(&mut Vec<u32>)| {
        let mut g = file.clone();
        let t = g.tensors.iter_mut().find(|t| t.name == name).unwrap();
        let TensorData::U32(v) = &mut t.data else { unreachable!() };
        f(v);
        t.shape = vec![v.len()];
        modelfile::write(g).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("parent after child", mangle("ngram.trie.parent", &|v| { let n = v.len(); v[1] = n as u32; })),
        ("word out of vocabulary", mangle("ngram.trie.words", &|v| v[0] = 1_000_000)),
        ("unsorted followers", mangle("ngram.trie.words", &|v| v.swap(0, 1))),
        ("missing counts", mangle("ngram.counts", &|v| { v.pop(); })),
        ("zero count", mangle("ngram.counts", &|v| v[3] = 0)),
        ("bad depth", mangle("ngram.trie.depth", &|v| v[1] = 7)),
    ];
    for (what, b) in cases {
        let e = Session::load(&b, None).err().unwrap_or_else(|| panic!("{what}: loaded"));
        assert_eq!(e.code, "file-corrupt", "{what}: {e}");
    }
}
