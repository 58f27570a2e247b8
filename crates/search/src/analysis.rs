//! Text analysis: one analyser per language, registered with the index under the names below.
//!
//! - `pav_zh`: jieba in search mode (a long word also yields its dictionary sub-words), tokens
//!   without a letter or digit dropped (jieba emits spaces and punctuation), lower-cased,
//!   ASCII-folded. Used to index zh-CN text.
//! - `pav_zh_query`: the same with jieba's default mode, used on queries: the query's longest
//!   words are found among the indexed words and sub-words.
//! - `pav_en`, `pav_es`, `pav_fr`: split on non-alphanumerics, drop tokens over 40 bytes,
//!   lower-case, ASCII-fold (`café` → `cafe`), then Snowball-stem (`aguacates` → `aguacat`).
//!   Folding comes before stemming so that accented and unaccented spellings stem alike.
//! - `pav_generic`: jieba + the same clean-up without stemming, for seller names and categories,
//!   which may be in any language; `pav_generic_query` is its query-time twin.

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy_jieba::JiebaTokenizer;

use crate::document::Locale;

pub(crate) const ZH: &str = "pav_zh";
pub(crate) const ZH_QUERY: &str = "pav_zh_query";
pub(crate) const EN: &str = "pav_en";
pub(crate) const ES: &str = "pav_es";
pub(crate) const FR: &str = "pav_fr";
pub(crate) const GENERIC: &str = "pav_generic";
pub(crate) const GENERIC_QUERY: &str = "pav_generic_query";

/// Longest token kept, in bytes.
const MAX_TOKEN_BYTES: usize = 40;

/// Index-time analyser name for a locale.
pub(crate) fn index_analyzer(locale: Locale) -> &'static str {
    match locale {
        Locale::ZhCn => ZH,
        Locale::En => EN,
        Locale::Es => ES,
        Locale::Fr => FR,
    }
}

fn jieba(search_mode: bool) -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer::with_search_mode(search_mode))
        .filter(WordsOnly)
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn stemmed(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(language))
        .build()
}

/// Registers every analyser with `index` (tokenizers are not persisted, so this runs on every
/// open).
pub(crate) fn register(index: &Index) {
    let manager = index.tokenizers();
    manager.register(ZH, jieba(true));
    manager.register(ZH_QUERY, jieba(false));
    manager.register(GENERIC, jieba(true));
    manager.register(GENERIC_QUERY, jieba(false));
    manager.register(EN, stemmed(Language::English));
    manager.register(ES, stemmed(Language::Spanish));
    manager.register(FR, stemmed(Language::French));
}

/// The analysers used to turn query words into terms, one per kind of field.
#[derive(Clone)]
pub(crate) struct QueryAnalyzers {
    pub zh: TextAnalyzer,
    pub generic: TextAnalyzer,
    pub en: TextAnalyzer,
    pub es: TextAnalyzer,
    pub fr: TextAnalyzer,
}

impl QueryAnalyzers {
    pub(crate) fn new() -> Self {
        QueryAnalyzers {
            zh: jieba(false),
            generic: jieba(false),
            en: stemmed(Language::English),
            es: stemmed(Language::Spanish),
            fr: stemmed(Language::French),
        }
    }

    pub(crate) fn for_locale(&mut self, locale: Locale) -> &mut TextAnalyzer {
        match locale {
            Locale::ZhCn => &mut self.zh,
            Locale::En => &mut self.en,
            Locale::Es => &mut self.es,
            Locale::Fr => &mut self.fr,
        }
    }
}

/// Runs `analyzer` over `text` and returns its distinct tokens in order.
pub(crate) fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let token = &stream.token().text;
        if !out.iter().any(|t| t == token) {
            out.push(token.clone());
        }
    }
    out
}

/// True for characters written without spaces between words (Han, kana), which jieba segments.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'   // hiragana, katakana
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
        | '\u{20000}'..='\u{2FFFF}')
}

/// Splits a query into the words that must each match somewhere: whitespace and punctuation
/// separate chunks; inside a chunk, runs of CJK characters are segmented with jieba (default
/// mode) and runs of other characters stay whole (each field's analyser splits them further).
pub(crate) fn query_words(text: &str, zh_query: &mut TextAnalyzer) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut push = |w: String| {
        if !words.contains(&w) {
            words.push(w);
        }
    };
    for chunk in text.split(|c: char| c.is_whitespace() || is_separator(c)) {
        let mut run = String::new();
        let mut run_is_cjk = false;
        for c in chunk.chars() {
            let cjk = is_cjk(c);
            if !run.is_empty() && cjk != run_is_cjk {
                flush(&mut run, run_is_cjk, zh_query, &mut push);
            }
            run_is_cjk = cjk;
            run.push(c);
        }
        flush(&mut run, run_is_cjk, zh_query, &mut push);
    }
    words
}

fn flush(run: &mut String, cjk: bool, zh_query: &mut TextAnalyzer, push: &mut impl FnMut(String)) {
    if run.is_empty() {
        return;
    }
    if cjk {
        for token in tokens(zh_query, run) {
            push(token);
        }
    } else if run.chars().any(char::is_alphanumeric) {
        push(std::mem::take(run));
    }
    run.clear();
}

/// Punctuation that separates query words (ASCII and CJK/full-width punctuation). Hyphens,
/// apostrophes and dots stay inside words; the field analysers split those.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | ':' | '!' | '?' | '"' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '/'
    ) || ('\u{3000}'..='\u{303F}').contains(&c)
        || ('\u{FF01}'..='\u{FF0F}').contains(&c)
        || ('\u{FF1A}'..='\u{FF20}').contains(&c)
}

/// Drops tokens that have no letter or digit (jieba emits spaces and punctuation as tokens).
#[derive(Clone, Copy)]
pub(crate) struct WordsOnly;

impl TokenFilter for WordsOnly {
    type Tokenizer<T: Tokenizer> = WordsOnlyTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> WordsOnlyTokenizer<T> {
        WordsOnlyTokenizer(tokenizer)
    }
}

#[derive(Clone)]
pub(crate) struct WordsOnlyTokenizer<T>(T);

impl<T: Tokenizer> Tokenizer for WordsOnlyTokenizer<T> {
    type TokenStream<'a> = WordsOnlyStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WordsOnlyStream(self.0.token_stream(text))
    }
}

pub(crate) struct WordsOnlyStream<S>(S);

impl<S: TokenStream> TokenStream for WordsOnlyStream<S> {
    fn advance(&mut self) -> bool {
        while self.0.advance() {
            if self.0.token().text.chars().any(char::is_alphanumeric) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut analyzer = analyzer;
        tokens(&mut analyzer, text)
    }

    #[test]
    fn jieba_drops_spaces_and_punctuation_and_lowercases() {
        let toks = analyze(jieba(true), "柬埔寨拜林龙眼 Fresh LONGAN, 18 t");
        assert!(toks.contains(&"龙眼".to_string()), "{toks:?}");
        assert!(toks.contains(&"longan".to_string()), "{toks:?}");
        assert!(toks.contains(&"18".to_string()), "{toks:?}");
        assert!(
            toks.iter().all(|t| !t.trim().is_empty() && t != ","),
            "{toks:?}"
        );
    }

    #[test]
    fn stemming_and_folding_make_spellings_meet() {
        let es = |t| analyze(stemmed(Language::Spanish), t);
        assert_eq!(es("aguacate"), es("aguacates"));
        let fr = |t| analyze(stemmed(Language::French), t);
        assert_eq!(fr("café"), fr("cafe"));
        assert_eq!(fr("Cafés"), fr("cafe"));
        let en = |t| analyze(stemmed(Language::English), t);
        assert_eq!(en("avocados"), en("avocado"));
    }

    #[test]
    fn query_words_split_cjk_runs_and_keep_latin_words() {
        let mut zh = jieba(false);
        let words = query_words("柬埔寨龙眼, organic café！有机coffee", &mut zh);
        assert!(words.contains(&"龙眼".to_string()), "{words:?}");
        assert!(words.contains(&"柬埔寨".to_string()), "{words:?}");
        assert!(words.contains(&"organic".to_string()), "{words:?}");
        assert!(words.contains(&"café".to_string()), "{words:?}");
        assert!(words.contains(&"coffee".to_string()), "{words:?}");
        assert!(query_words(" ,,! ", &mut zh).is_empty());
    }
}
