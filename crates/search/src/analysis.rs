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
//!
//! The analysers registered with the index (used when indexing) remember what they computed for
//! recent words ([`WordMemo`] for jieba's segmentation of a whitespace-separated word,
//! [`Memo`] for the filters of a token): a catalogue repeats its vocabulary, and a remembered
//! word costs a lookup instead of jieba's segmentation or a Snowball stemmer. They produce the
//! same tokens as the plain analysers, which queries use.

use std::collections::HashMap;

/// The word memories' maps: their keys are short words, hashed once per token.
type Memory<V> = HashMap<String, V, foldhash::fast::RandomState>;

use tantivy::Index;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer,
    Stemmer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
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

/// The filters of [`jieba`], applied to one token.
fn jieba_filters() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(WordsOnly)
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// [`jieba`] in search mode, remembering recent words: the indexing twin of `jieba(true)`.
fn memo_jieba() -> TextAnalyzer {
    TextAnalyzer::builder(WordMemo::new(JiebaTokenizer::with_search_mode(true)))
        .filter(Memo::new(jieba_filters()))
        .build()
}

/// [`stemmed`], remembering the filters' result for recent tokens: its indexing twin.
fn memo_stemmed(language: Language) -> TextAnalyzer {
    let filters = TextAnalyzer::builder(RawTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(language))
        .build();
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(Memo::new(filters))
        .build()
}

/// Registers every analyser with `index` (tokenizers are not persisted, so this runs on every
/// open). The index-time analysers are the memoising twins of the query analysers.
pub(crate) fn register(index: &Index) {
    let manager = index.tokenizers();
    manager.register(ZH, memo_jieba());
    manager.register(ZH_QUERY, jieba(false));
    manager.register(GENERIC, memo_jieba());
    manager.register(GENERIC_QUERY, jieba(false));
    manager.register(EN, memo_stemmed(Language::English));
    manager.register(ES, memo_stemmed(Language::Spanish));
    manager.register(FR, memo_stemmed(Language::French));
}

/// Most distinct words an analyser remembers; when full, it forgets them all and starts again
/// (each indexing thread's analysers have their own memory).
const MEMO_WORDS: usize = 20_000;
/// Longer words are analysed every time, not remembered.
const MEMO_WORD_BYTES: usize = 64;

/// A token filter that remembers, per token text, what a chain of per-token filters made of it
/// (`filters` is that chain behind a [`RawTokenizer`]; a filter that drops the token makes it
/// `None`). The filters must look at nothing but the token's text, and give at most one token.
#[derive(Clone)]
pub(crate) struct Memo {
    filters: TextAnalyzer,
}

impl Memo {
    pub(crate) fn new(filters: TextAnalyzer) -> Self {
        Memo { filters }
    }
}

impl TokenFilter for Memo {
    type Tokenizer<T: Tokenizer> = MemoTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoTokenizer<T> {
        MemoTokenizer {
            tokenizer,
            filters: self.filters,
            memo: Memory::default(),
        }
    }
}

pub(crate) struct MemoTokenizer<T> {
    tokenizer: T,
    filters: TextAnalyzer,
    memo: Memory<Option<String>>,
}

/// A copy starts with an empty memory.
impl<T: Clone> Clone for MemoTokenizer<T> {
    fn clone(&self) -> Self {
        MemoTokenizer {
            tokenizer: self.tokenizer.clone(),
            filters: self.filters.clone(),
            memo: Memory::default(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for MemoTokenizer<T> {
    type TokenStream<'a> = MemoStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStream {
            tail: self.tokenizer.token_stream(text),
            filters: &mut self.filters,
            memo: &mut self.memo,
        }
    }
}

pub(crate) struct MemoStream<'a, S> {
    tail: S,
    filters: &'a mut TextAnalyzer,
    memo: &'a mut Memory<Option<String>>,
}

/// What `filters` make of the token `text`.
fn filtered(filters: &mut TextAnalyzer, text: &str) -> Option<String> {
    let mut stream = filters.token_stream(text);
    stream.advance().then(|| stream.token().text.clone())
}

impl<S: TokenStream> TokenStream for MemoStream<'_, S> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let token = self.tail.token_mut();
            let out = match self.memo.get(&token.text) {
                Some(out) => out.as_deref(),
                None => {
                    let out = filtered(self.filters, &token.text);
                    if token.text.len() > MEMO_WORD_BYTES {
                        match out {
                            Some(text) => {
                                token.text = text;
                                return true;
                            }
                            None => continue,
                        }
                    }
                    if self.memo.len() >= MEMO_WORDS {
                        self.memo.clear();
                    }
                    self.memo
                        .entry(token.text.clone())
                        .or_insert(out)
                        .as_deref()
                }
            };
            if let Some(text) = out {
                token.text.clear();
                token.text.push_str(text);
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// A word's tokens as its tokenizer cut it alone: byte offsets and character positions relative
/// to the word.
#[derive(Clone, Copy)]
struct Cut {
    from: usize,
    to: usize,
    position: usize,
    position_length: usize,
}

/// A tokenizer that cuts each whitespace-separated word of a text alone and remembers recent
/// words' cuts; whitespace gives one token per character (`\r\n` one token), as jieba does.
///
/// Only for a tokenizer like jieba's: none of its tokens spans whitespace, how it cuts a word
/// does not depend on the text around it, and a token's position is its first character's
/// index (jieba splits text into blocks at every character that is not CJK, ASCII alphanumeric
/// or one of `+#&._%-`, and cuts each block alone).
pub(crate) struct WordMemo<T> {
    tokenizer: T,
    memo: Memory<Vec<Cut>>,
    /// The current text's tokens are the first `used`; the others keep their buffers for reuse.
    tokens: Vec<Token>,
    used: usize,
}

impl<T> WordMemo<T> {
    pub(crate) fn new(tokenizer: T) -> Self {
        WordMemo {
            tokenizer,
            memo: Memory::default(),
            tokens: Vec::new(),
            used: 0,
        }
    }
}

/// Sets the next token of `tokens` (reusing its buffer) to `text[from..to]`.
fn emit(
    tokens: &mut Vec<Token>,
    used: &mut usize,
    text: &str,
    (from, to): (usize, usize),
    (position, position_length): (usize, usize),
) {
    if *used == tokens.len() {
        tokens.push(Token::default());
    }
    let token = &mut tokens[*used];
    *used += 1;
    token.offset_from = from;
    token.offset_to = to;
    token.position = position;
    token.position_length = position_length;
    token.text.clear();
    token.text.push_str(&text[from..to]);
}

/// A copy starts with an empty memory.
impl<T: Clone> Clone for WordMemo<T> {
    fn clone(&self) -> Self {
        WordMemo::new(self.tokenizer.clone())
    }
}

impl<T: Tokenizer> WordMemo<T> {
    /// Appends the tokens of the word `text[start..end]`, whose first character is the text's
    /// `chars`th.
    fn push_word(&mut self, text: &str, start: usize, end: usize, chars: usize) {
        let word = &text[start..end];
        let emit_all = |tokens: &mut Vec<Token>, used: &mut usize, cuts: &[Cut]| {
            for cut in cuts {
                emit(
                    tokens,
                    used,
                    text,
                    (start + cut.from, start + cut.to),
                    (chars + cut.position, cut.position_length),
                );
            }
        };
        if let Some(cuts) = self.memo.get(word) {
            emit_all(&mut self.tokens, &mut self.used, cuts);
            return;
        }
        let mut cuts = Vec::new();
        let mut stream = self.tokenizer.token_stream(word);
        while stream.advance() {
            let t = stream.token();
            cuts.push(Cut {
                from: t.offset_from,
                to: t.offset_to,
                position: t.position,
                position_length: t.position_length,
            });
        }
        emit_all(&mut self.tokens, &mut self.used, &cuts);
        if word.len() <= MEMO_WORD_BYTES {
            if self.memo.len() >= MEMO_WORDS {
                self.memo.clear();
            }
            self.memo.insert(word.to_owned(), cuts);
        }
    }
}

impl<T: Tokenizer> Tokenizer for WordMemo<T> {
    type TokenStream<'a> = VecTokens<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokens<'a> {
        self.used = 0;
        let mut word: Option<(usize, usize)> = None; // its first byte and character
        let mut chars = 0;
        let mut iter = text.char_indices().peekable();
        while let Some((at, c)) = iter.next() {
            if !c.is_whitespace() {
                word.get_or_insert((at, chars));
                chars += 1;
                continue;
            }
            if let Some((start, first)) = word.take() {
                self.push_word(text, start, at, first);
            }
            let (mut len, mut count) = (c.len_utf8(), 1);
            if c == '\r' && matches!(iter.peek(), Some((_, '\n'))) {
                iter.next();
                len += 1;
                count += 1;
            }
            emit(
                &mut self.tokens,
                &mut self.used,
                text,
                (at, at + len),
                (chars, count),
            );
            chars += count;
        }
        if let Some((start, first)) = word {
            self.push_word(text, start, text.len(), first);
        }
        VecTokens {
            tokens: &mut self.tokens[..self.used],
            next: 0,
        }
    }
}

/// The tokens of a [`WordMemo`], in order.
pub(crate) struct VecTokens<'a> {
    tokens: &'a mut [Token],
    next: usize,
}

impl TokenStream for VecTokens<'_> {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
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

    /// Every token with its offsets and position.
    fn full(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize, usize, usize)> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            out.push((
                t.text.clone(),
                t.offset_from,
                t.offset_to,
                t.position,
                t.position_length,
            ));
        }
        out
    }

    /// Texts like a catalogue's, and awkward ones: CJK and Latin runs, punctuation, `\r\n`,
    /// full-width spaces, long words and tokens.
    fn samples() -> Vec<String> {
        let mut texts: Vec<String> = [
            "柬埔寨拜林精选龙眼 第12批",
            "柬埔寨拜林龙眼 Fresh LONGAN, 18 t",
            "Premium longan from Pailin, lot 12",
            "aguacates Hass de Michoacán, lote 7",
            "café torréfié de sélection de Huye, lot 3",
            "WES-5.4.5 版本 v1.2_beta 50%",
            "a\r\nb \t 第123批\n\n龙眼\u{3000}芒果",
            "  leading and trailing  ",
            "",
            "   ",
            "Café  crème brûlée—très bon! 😀 咖啡😀豆",
            "Pneumonoultramicroscopicsilicovolcanoconiosis-and-then-some-more-letters-to-pass-64-bytes",
            "龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // Pseudo-random texts over an alphabet of every kind of character above.
        let alphabet: Vec<char> = "龙眼芒果咖啡柬埔寨拜林第批abcXYZ019 -.,_%+#&é\u{3000}\r\n\t!😀"
            .chars()
            .collect();
        let mut seed: u64 = 4;
        for _ in 0..300 {
            let mut text = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..(seed >> 58) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            texts.push(text);
        }
        texts
    }

    #[test]
    fn indexing_analysers_give_the_tokens_of_the_query_analysers() {
        let pairs = [
            (jieba(true), memo_jieba()),
            (stemmed(Language::English), memo_stemmed(Language::English)),
            (stemmed(Language::Spanish), memo_stemmed(Language::Spanish)),
            (stemmed(Language::French), memo_stemmed(Language::French)),
            (
                TextAnalyzer::from(JiebaTokenizer::with_search_mode(true)),
                TextAnalyzer::from(WordMemo::new(JiebaTokenizer::with_search_mode(true))),
            ),
        ];
        let texts = samples();
        for (mut plain, mut memo) in pairs {
            // Twice, so that the second pass reads what the first remembered.
            for text in texts.iter().chain(&texts) {
                assert_eq!(full(&mut plain, text), full(&mut memo, text), "{text:?}");
            }
        }
    }

    #[test]
    fn a_full_memory_starts_again_with_the_same_tokens() {
        let mut plain = stemmed(Language::English);
        let mut memo = memo_stemmed(Language::English);
        let mut plain_zh = jieba(true);
        let mut memo_zh = memo_jieba();
        for i in 0..(MEMO_WORDS + 500) {
            let text = format!("w{i} avocados 龙眼{i}批 w{}", i / 2);
            assert_eq!(full(&mut plain, &text), full(&mut memo, &text));
            assert_eq!(full(&mut plain_zh, &text), full(&mut memo_zh, &text));
        }
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
