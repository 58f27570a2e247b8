//! The catalogue as CSV: one row per product, for sellers who keep their catalogue in a
//! spreadsheet and for moving whole catalogues between instances. The format is described for
//! people in `docs/catalogue-import.md`; [`parse_products_csv`] reads it (reporting every bad row
//! with its line and field) and [`ProductCsvWriter`] writes it, so that an export imports back
//! to the same products.
//!
//! Lists inside one cell use `;` between items (tiers, departures, variants). Within a variant,
//! `|` separates its fields, `,` its attributes and `=` an attribute's name from its value; a
//! backslash makes the next character literal (`\;`, `\|`, `\,`, `\=`, `\\`).

use super::draft::{
    Departure, FieldError, ProductDraft, ProductKind, Variant, Wholesale, validate,
};
use super::locale::{Locale, Localized};
use super::pricing::PriceTier;
use crate::fx::{FileErrors, RowError};
use crate::money::parse_decimal;
use crate::{Country, Currency, HsCode, Money, Unit};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use time::Date;
use time::macros::format_description;
use uuid::Uuid;

/// The columns, in the order a file must have them.
pub const HEADER: [&str; 26] = [
    "seller_id",
    "kind",
    "original_locale",
    "title_zh-CN",
    "title_en",
    "title_es",
    "title_fr",
    "description_zh-CN",
    "description_en",
    "description_es",
    "description_fr",
    "hs",
    "category",
    "origin",
    "unit",
    "weight_kg_per_unit",
    "volume_l_per_unit",
    "cold_chain",
    "shelf_life_days",
    "retail_price",
    "currency",
    "moq",
    "tiers",
    "stock",
    "departures",
    "variants",
];

// Column positions, named so the parser and the writer cannot disagree.
const SELLER: usize = 0;
const KIND: usize = 1;
const ORIGINAL: usize = 2;
const TITLES: usize = 3;
const DESCRIPTIONS: usize = 7;
const HS: usize = 11;
const CATEGORY: usize = 12;
const ORIGIN: usize = 13;
const UNIT: usize = 14;
const WEIGHT: usize = 15;
const VOLUME: usize = 16;
const COLD: usize = 17;
const SHELF: usize = 18;
const RETAIL: usize = 19;
const CURRENCY: usize = 20;
const MOQ: usize = 21;
const TIERS: usize = 22;
const STOCK: usize = 23;
const DEPARTURES: usize = 24;
const VARIANTS: usize = 25;

/// One product read from a file: its line (of the row's first line), its seller and the draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    pub seller: Uuid,
    pub draft: ProductDraft,
}

/// The column a draft field comes from, so that a validation error names what the seller sees
/// in the spreadsheet (`titles.en` → `title_en`, `wholesale.tiers[1]…` → `tiers[1]…`).
fn column_of(field: &str) -> String {
    for (prefix, column) in [
        ("titles.", "title_"),
        ("descriptions.", "description_"),
        ("wholesale.tiers", "tiers"),
        ("wholesale.moq", "moq"),
    ] {
        if let Some(rest) = field.strip_prefix(prefix) {
            return format!("{column}{rest}");
        }
    }
    if field == "wholesale" {
        return "moq".into();
    }
    field.to_owned()
}

fn header_error(message: String) -> FileErrors {
    FileErrors(vec![RowError {
        line: 1,
        field: "header".into(),
        message,
    }])
}

/// Reads a product file: the header must be exactly [`HEADER`]; every row is parsed and
/// validated (as on `today`), and every problem of every row is reported with its line and
/// column. With `only_seller` (a seller importing for its own organisation) an empty
/// `seller_id` cell means that seller and any other seller is refused; without it every row
/// names its seller. [`ProductRows`] reads the same rows one at a time.
pub fn parse_products_csv(
    text: &str,
    today: Date,
    only_seller: Option<Uuid>,
) -> Result<Vec<ImportRow>, FileErrors> {
    let parsed = ProductRows::new(text.as_bytes(), today, only_seller)?;
    // A row per line at most: reserving up front spares a million-row file the copies of
    // growing the vector (mimalloc, the binary's allocator, reallocates by copying).
    let mut rows = Vec::with_capacity(text.bytes().filter(|&b| b == b'\n').count());
    let mut errors = Vec::new();
    for row in parsed {
        match row {
            Ok(row) => rows.push(row),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(FileErrors(errors))
    }
}

/// What a file gives for one row: the product, or every problem of the row.
pub type RowResult = Result<ImportRow, Vec<RowError>>;

/// The rows of a product file, read and validated one at a time as [`parse_products_csv`] does,
/// so that a large file is imported while it is read, in bounded memory. The header is checked
/// when the reader is made.
pub struct ProductRows<R> {
    reader: ::csv::Reader<io::Chain<io::Cursor<Vec<u8>>, R>>,
    record: ::csv::StringRecord,
    today: Date,
    only_seller: Option<Uuid>,
    done: bool,
}

const BOM: &[u8] = "\u{feff}".as_bytes();

impl<R: io::Read> ProductRows<R> {
    /// Reads the header of `input`; a file whose header is not [`HEADER`] is refused here with
    /// one error on line 1.
    pub fn new(mut input: R, today: Date, only_seller: Option<Uuid>) -> Result<Self, FileErrors> {
        // Spreadsheets often save UTF-8 with a byte-order mark.
        let mut start = Vec::with_capacity(BOM.len());
        (&mut input)
            .take(BOM.len() as u64)
            .read_to_end(&mut start)
            .map_err(|e| header_error(format!("the file cannot be read: {e}")))?;
        if start == BOM {
            start.clear();
        }
        let mut reader = ::csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(io::Cursor::new(start).chain(input));
        let headers = reader.headers().map_err(|e| header_error(e.to_string()))?;
        let found: Vec<&str> = headers.iter().map(str::trim).collect();
        if found != HEADER {
            return Err(header_error(header_mismatch(&found)));
        }
        Ok(ProductRows {
            reader,
            record: ::csv::StringRecord::new(),
            today,
            only_seller,
            done: false,
        })
    }
}

fn header_mismatch(found: &[&str]) -> String {
    let detail = match found
        .iter()
        .zip(HEADER)
        .position(|(f, e)| *f != e)
        .or_else(|| (found.len() != HEADER.len()).then(|| found.len().min(HEADER.len())))
    {
        Some(i) if i < HEADER.len() => format!(
            "column {} should be {:?}, found {:?}",
            i + 1,
            HEADER[i],
            found.get(i).copied().unwrap_or("nothing")
        ),
        _ => format!(
            "{} columns where {} are expected",
            found.len(),
            HEADER.len()
        ),
    };
    format!("expected the header {}; {detail}", HEADER.join(","))
}

impl<R: io::Read> Iterator for ProductRows<R> {
    type Item = RowResult;

    fn next(&mut self) -> Option<RowResult> {
        if self.done {
            return None;
        }
        let line = self.reader.position().line();
        match self.reader.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map_or(line, |p| p.line());
                Some(parse_row(&self.record, line, self.today, self.only_seller))
            }
            Err(e) => {
                // Text that is not UTF-8, or a read that failed: the reader cannot go on.
                self.done = true;
                Some(Err(vec![RowError {
                    line: e.position().map_or(line, |p| p.line()),
                    field: "row".into(),
                    message: e.to_string(),
                }]))
            }
        }
    }
}

/// Gathers the problems of one row.
struct Row<'a> {
    line: u64,
    errors: Vec<RowError>,
    record: &'a ::csv::StringRecord,
}

impl<'a> Row<'a> {
    fn bad(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(RowError {
            line: self.line,
            field: field.into(),
            message: message.into(),
        });
    }

    fn cell(&self, i: usize) -> &'a str {
        self.record.get(i).unwrap_or("")
    }

    /// A trimmed cell, `None` when empty.
    fn optional(&self, i: usize) -> Option<&'a str> {
        Some(self.cell(i).trim()).filter(|s| !s.is_empty())
    }

    /// Parses a cell that must not be empty.
    fn required<T>(
        &mut self,
        i: usize,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.optional(i) {
            None => {
                self.bad(HEADER[i], "must not be empty");
                None
            }
            Some(text) => parse(text).map_err(|m| self.bad(HEADER[i], m)).ok(),
        }
    }

    /// Parses a cell that may be empty (`Some(None)`); `None` when it is bad.
    fn maybe<T>(
        &mut self,
        i: usize,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.optional(i) {
            None => Some(None),
            Some(text) => match parse(text) {
                Ok(v) => Some(Some(v)),
                Err(m) => {
                    self.bad(HEADER[i], m);
                    None
                }
            },
        }
    }
}

fn decimal(text: &str) -> Result<Decimal, String> {
    parse_decimal(text).ok_or_else(|| format!("{text:?} is not a decimal number like 12.5"))
}

fn whole(text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .map_err(|_| format!("{text:?} is not a whole number from 0 to {}", u32::MAX))
}

fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

fn date(text: &str) -> Result<Date, String> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{text:?} is not a date like 2027-03-01"))
}

/// An amount in the row's currency, or in the one written after it (`12.00 EUR`).
fn price(text: &str, currency: Option<Currency>) -> Result<Money, String> {
    let (amount, code) = match text.trim().split_once(' ') {
        Some((a, c)) => (a, Some(c.trim())),
        None => (text.trim(), None),
    };
    let currency = match code {
        Some(code) => code.parse::<Currency>().map_err(|e| e.to_string())?,
        None => currency.ok_or("give the currency column for the prices")?,
    };
    Money::parse(amount, currency).map_err(|e| e.to_string())
}

fn tiers(text: &str, currency: Option<Currency>) -> Result<Vec<PriceTier>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .enumerate()
        .map(|(i, tier)| {
            let (q, p) = tier
                .split_once(':')
                .ok_or_else(|| format!("tier {}: {tier:?} is not QUANTITY:PRICE", i + 1))?;
            Ok(PriceTier {
                min_quantity: decimal(q.trim()).map_err(|m| format!("tier {}: {m}", i + 1))?,
                unit_price: price(p, currency).map_err(|m| format!("tier {}: {m}", i + 1))?,
            })
        })
        .collect()
}

fn departures(text: &str) -> Result<Vec<Departure>, String> {
    let mut seen = BTreeSet::new();
    text.split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|d| {
            let (day, seats) = d
                .split_once(':')
                .ok_or_else(|| format!("{d:?} is not DATE:SEATS like 2027-03-01:12"))?;
            let date = date(day.trim())?;
            if !seen.insert(date) {
                return Err(format!("{date} appears twice"));
            }
            Ok(Departure {
                date,
                seats: whole(seats.trim())?,
            })
        })
        .collect()
}

/// Splits on `sep` where it is not escaped by a backslash; escapes are kept for the next level.
fn split_escaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Drops the escaping backslashes of a leaf value.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

const SPECIAL: [char; 5] = ['\\', ';', '|', ',', '='];

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

fn variants(text: &str, currency: Option<Currency>) -> Result<Vec<Variant>, String> {
    let mut out = Vec::new();
    for (i, item) in split_escaped(text, ';').into_iter().enumerate() {
        if item.trim().is_empty() {
            continue;
        }
        let at = |m: String| format!("variant {}: {m}", i + 1);
        let fields = split_escaped(item, '|');
        if fields.len() > 5 {
            return Err(at(
                "has more than SKU|attributes|price|stock|weight (escape a literal | as \\|)"
                    .into(),
            ));
        }
        let field = |n: usize| fields.get(n).map(|f| f.trim()).filter(|f| !f.is_empty());
        let mut attributes = BTreeMap::new();
        for pair in field(1).map(|a| split_escaped(a, ',')).unwrap_or_default() {
            if pair.trim().is_empty() {
                continue;
            }
            let kv = split_escaped(pair, '=');
            let [k, v] = kv.as_slice() else {
                return Err(at(format!(
                    "attribute {:?} is not name=value",
                    unescape(pair)
                )));
            };
            let key = unescape(k.trim());
            if attributes.insert(key.clone(), unescape(v.trim())).is_some() {
                return Err(at(format!("attribute {key:?} is given twice")));
            }
        }
        out.push(Variant {
            sku: field(0).map(unescape).unwrap_or_default(),
            attributes,
            retail_price: field(2)
                .map(|p| price(&unescape(p), currency))
                .transpose()
                .map_err(at)?,
            stock: field(3).map(whole).transpose().map_err(at)?,
            weight_kg_per_unit: field(4).map(decimal).transpose().map_err(at)?,
        });
    }
    Ok(out)
}

fn parse_row(
    record: &::csv::StringRecord,
    line: u64,
    today: Date,
    only_seller: Option<Uuid>,
) -> Result<ImportRow, Vec<RowError>> {
    let mut row = Row {
        line,
        errors: Vec::new(),
        record,
    };
    if record.len() != HEADER.len() {
        row.bad(
            "row",
            format!(
                "{} cells where the header has {}",
                record.len(),
                HEADER.len()
            ),
        );
        return Err(row.errors);
    }
    let seller = match (row.optional(SELLER), only_seller) {
        (Some(text), only) => match Uuid::parse_str(text) {
            Err(_) => {
                row.bad("seller_id", format!("{text:?} is not an organisation id"));
                None
            }
            Ok(id) if only.is_some_and(|own| own != id) => {
                row.bad(
                    "seller_id",
                    format!("you list products for your own organisation only, not {id}"),
                );
                None
            }
            Ok(id) => Some(id),
        },
        (None, Some(own)) => Some(own),
        (None, None) => {
            row.bad("seller_id", "give the seller organisation's id");
            None
        }
    };
    let kind = row.required(KIND, |t| {
        ProductKind::parse(t)
            .ok_or_else(|| format!("{t:?} is not goods, bulk_commodity or travel_package"))
    });
    let original_locale = row.required(ORIGINAL, |t| t.parse::<Locale>());
    let mut titles = Localized::new();
    let mut descriptions = Localized::new();
    for (i, locale) in Locale::ALL.into_iter().enumerate() {
        // Texts are kept as written (spaces included) so that exports round-trip exactly.
        for (column, texts) in [
            (TITLES + i, &mut titles),
            (DESCRIPTIONS + i, &mut descriptions),
        ] {
            let text = row.cell(column);
            if !text.is_empty() {
                texts.insert(locale, text.to_owned());
            }
        }
    }
    let hs = row.required(HS, |t| t.parse::<HsCode>().map_err(|e| e.to_string()));
    let category = row.optional(CATEGORY).map(str::to_owned);
    let origin = row.required(ORIGIN, |t| t.parse::<Country>().map_err(|e| e.to_string()));
    let unit = row.required(UNIT, |t| t.parse::<Unit>().map_err(|e| e.to_string()));
    let weight = row.maybe(WEIGHT, decimal);
    let volume = row.maybe(VOLUME, decimal);
    let cold_chain = row.maybe(COLD, boolean).map(Option::unwrap_or_default);
    let shelf_life = row.maybe(SHELF, whole);
    let currency = row.maybe(CURRENCY, |t| {
        t.parse::<Currency>().map_err(|e| e.to_string())
    });
    // Without a readable currency the prices cannot be read either; that is one error, not four.
    let prices_readable = currency.is_some();
    let currency = currency.flatten();
    let retail = if prices_readable {
        row.maybe(RETAIL, |t| price(t, currency))
    } else {
        Some(None)
    };
    let moq = row.maybe(MOQ, decimal);
    let tier_list = if prices_readable {
        row.maybe(TIERS, |t| tiers(t, currency))
    } else {
        Some(None)
    };
    let stock = row.maybe(STOCK, whole);
    let departure_list = row.maybe(DEPARTURES, departures);
    let variant_list = if prices_readable {
        row.maybe(VARIANTS, |t| variants(t, currency))
    } else {
        Some(None)
    };
    let wholesale = match (moq, tier_list) {
        (Some(None), Some(None)) => Some(None),
        (Some(Some(moq)), Some(tiers)) => Some(Some(Wholesale {
            moq,
            tiers: tiers.unwrap_or_default(),
        })),
        (Some(None), Some(Some(_))) => {
            row.bad("moq", "price tiers need the minimum order quantity");
            None
        }
        _ => None,
    };
    let (
        Some(seller),
        Some(kind),
        Some(original_locale),
        Some(hs),
        Some(origin),
        Some(unit),
        Some(weight_kg_per_unit),
        Some(volume_l_per_unit),
        Some(cold_chain),
        Some(shelf_life_days),
        Some(retail_price),
        Some(wholesale),
        Some(stock),
        Some(departures),
        Some(variants),
    ) = (
        seller,
        kind,
        original_locale,
        hs,
        origin,
        unit,
        weight,
        volume,
        cold_chain,
        shelf_life,
        retail,
        wholesale,
        stock,
        departure_list,
        variant_list,
    )
    else {
        return Err(row.errors);
    };
    if !row.errors.is_empty() {
        // E.g. an unreadable currency: the prices were skipped, so validating would mislead.
        return Err(row.errors);
    }
    let draft = ProductDraft {
        kind,
        original_locale,
        titles,
        descriptions,
        hs,
        category,
        origin,
        unit,
        weight_kg_per_unit,
        volume_l_per_unit,
        cold_chain,
        shelf_life_days,
        retail_price,
        wholesale,
        stock,
        departures: departures.unwrap_or_default(),
        variants: variants.unwrap_or_default(),
    };
    if let Err(problems) = validate(&draft, today) {
        for FieldError { field, message } in problems {
            row.bad(column_of(&field), message);
        }
    }
    if row.errors.is_empty() {
        Ok(ImportRow {
            line,
            seller,
            draft,
        })
    } else {
        Err(row.errors)
    }
}

/// Writes products in the import format, header first, one row per product.
pub struct ProductCsvWriter<W: io::Write> {
    inner: ::csv::Writer<W>,
    /// Reused between rows to spare allocations on large exports.
    cells: Vec<String>,
}

fn io_error(e: ::csv::Error) -> io::Error {
    io::Error::other(e)
}

/// The currency the row's `currency` column names: the retail price's, else the first tier's.
fn row_currency(d: &ProductDraft) -> Option<Currency> {
    d.retail_price
        .map(|m| m.currency())
        .or_else(|| {
            d.wholesale
                .as_ref()
                .and_then(|w| w.tiers.first())
                .map(|t| t.unit_price.currency())
        })
        .or_else(|| {
            d.variants
                .iter()
                .find_map(|v| v.retail_price.map(|m| m.currency()))
        })
}

/// A price as the parser reads it: the amount, and its currency when not the row's.
fn price_text(out: &mut String, m: &Money, row: Option<Currency>) {
    use std::fmt::Write;
    let _ = write!(out, "{}", m.amount());
    if Some(m.currency()) != row {
        let _ = write!(out, " {}", m.currency());
    }
}

impl<W: io::Write> ProductCsvWriter<W> {
    pub fn new(writer: W) -> io::Result<Self> {
        let mut inner = ::csv::WriterBuilder::new().from_writer(writer);
        inner.write_record(HEADER).map_err(io_error)?;
        Ok(Self {
            inner,
            cells: vec![String::new(); HEADER.len()],
        })
    }

    pub fn write(&mut self, seller: Uuid, d: &ProductDraft) -> io::Result<()> {
        use std::fmt::Write;
        for c in &mut self.cells {
            c.clear();
        }
        let currency = row_currency(d);
        let c = &mut self.cells;
        let _ = write!(c[SELLER], "{seller}");
        c[KIND].push_str(d.kind.as_str());
        c[ORIGINAL].push_str(d.original_locale.tag());
        for (i, locale) in Locale::ALL.into_iter().enumerate() {
            if let Some(t) = d.titles.get(&locale) {
                c[TITLES + i].push_str(t);
            }
            if let Some(t) = d.descriptions.get(&locale) {
                c[DESCRIPTIONS + i].push_str(t);
            }
        }
        c[HS].push_str(d.hs.digits());
        if let Some(cat) = &d.category {
            c[CATEGORY].push_str(cat);
        }
        c[ORIGIN].push_str(d.origin.code());
        c[UNIT].push_str(d.unit.symbol());
        if let Some(w) = d.weight_kg_per_unit {
            let _ = write!(c[WEIGHT], "{w}");
        }
        if let Some(v) = d.volume_l_per_unit {
            let _ = write!(c[VOLUME], "{v}");
        }
        c[COLD].push_str(if d.cold_chain { "true" } else { "false" });
        if let Some(s) = d.shelf_life_days {
            let _ = write!(c[SHELF], "{s}");
        }
        if let Some(p) = &d.retail_price {
            price_text(&mut c[RETAIL], p, currency);
        }
        if let Some(cur) = currency {
            c[CURRENCY].push_str(cur.code());
        }
        if let Some(w) = &d.wholesale {
            let _ = write!(c[MOQ], "{}", w.moq);
            for (i, t) in w.tiers.iter().enumerate() {
                if i > 0 {
                    c[TIERS].push(';');
                }
                let _ = write!(c[TIERS], "{}:", t.min_quantity);
                price_text(&mut c[TIERS], &t.unit_price, currency);
            }
        }
        if let Some(s) = d.stock {
            let _ = write!(c[STOCK], "{s}");
        }
        for (i, dep) in d.departures.iter().enumerate() {
            if i > 0 {
                c[DEPARTURES].push(';');
            }
            let _ = write!(c[DEPARTURES], "{}:{}", dep.date, dep.seats);
        }
        for (i, v) in d.variants.iter().enumerate() {
            let out = &mut c[VARIANTS];
            if i > 0 {
                out.push(';');
            }
            escape_into(out, &v.sku);
            out.push('|');
            for (j, (k, val)) in v.attributes.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                escape_into(out, k);
                out.push('=');
                escape_into(out, val);
            }
            out.push('|');
            if let Some(p) = &v.retail_price {
                price_text(out, p, currency);
            }
            out.push('|');
            if let Some(s) = v.stock {
                let _ = write!(out, "{s}");
            }
            out.push('|');
            if let Some(w) = v.weight_kg_per_unit {
                let _ = write!(out, "{w}");
            }
            // Empty trailing fields are left out, as a person would write them.
            while out.ends_with('|') && !out.ends_with("\\|") {
                out.pop();
            }
        }
        self.inner.write_record(&self.cells).map_err(io_error)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> io::Result<W> {
        self.inner
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

/// The products as one CSV text (for small exports and tests).
pub fn products_to_csv<'a>(
    products: impl IntoIterator<Item = (Uuid, &'a ProductDraft)>,
) -> io::Result<String> {
    let mut w = ProductCsvWriter::new(Vec::new())?;
    for (seller, draft) in products {
        w.write(seller, draft)?;
    }
    String::from_utf8(w.finish()?).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);
    const SELLER_A: &str = "0190a5c4-7a3b-7c1d-8e2f-000000000001";

    fn header() -> String {
        HEADER.join(",")
    }

    fn file(rows: &[&str]) -> String {
        let mut text = header();
        for r in rows {
            text.push('\n');
            text.push_str(r);
        }
        text.push('\n');
        text
    }

    const LONGAN: &str = "0190a5c4-7a3b-7c1d-8e2f-000000000001,goods,en,柬埔寨拜林龙眼 5公斤装,\"Fresh Pailin longan, 5 kg box\",,,,Hand-picked.,,,0810.90.30,fresh-fruit,KH,piece,5,,true,21,18.00,USD,100,100:12.00;1000:10.50,500,,";
    const TOUR: &str = "0190a5c4-7a3b-7c1d-8e2f-000000000001,travel_package,en,,Gorilla trek,,,,,,,9999.00,,RW,seat,,,no,,1500.00,USD,,,,2027-03-01:12;2027-04-05:8,";
    const SOAP: &str = ",goods,es,,,Jabón de aguacate,,,,,,3401.11,,MX,piece,0.1,,,,5.00,USD,,,,,\"SOAP-L|scent=lima,size=100 g|5.50|40|0.1;SOAP-M|scent=menta\\, hierbabuena|5.00|25\"";

    #[test]
    fn reads_goods_tours_and_variants() {
        let seller = Uuid::parse_str(SELLER_A).unwrap();
        let rows = parse_products_csv(&file(&[LONGAN, TOUR, SOAP]), TODAY, Some(seller)).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4]);
        let longan = &rows[0].draft;
        assert_eq!(longan.titles[&Locale::En], "Fresh Pailin longan, 5 kg box");
        assert_eq!(longan.hs.digits(), "08109030");
        assert_eq!(
            longan.wholesale.as_ref().unwrap().tiers[1]
                .unit_price
                .to_string(),
            "10.50 USD"
        );
        assert_eq!(longan.stock, Some(500));
        assert!(longan.cold_chain);
        assert_eq!(rows[1].draft.departures[1].date, date!(2027 - 04 - 05));
        let soap = &rows[2].draft;
        assert_eq!(
            rows[2].seller, seller,
            "an empty seller_id is the default seller"
        );
        assert_eq!(soap.variants.len(), 2);
        assert_eq!(soap.variants[0].attributes["size"], "100 g");
        assert_eq!(soap.variants[1].attributes["scent"], "menta, hierbabuena");
        assert_eq!(soap.variants[1].stock, Some(25));
        assert_eq!(
            soap.variants[0].weight_kg_per_unit,
            Some(Decimal::new(1, 1))
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_and_column() {
        let bad_hs = LONGAN.replace("0810.90.30", "0810.9");
        let bad_tiers = LONGAN.replace("100:12.00;1000:10.50", "1000:10.50;100:12.00");
        let past = TOUR.replace("2027-03-01", "2026-11-01");
        let short = "a,b,c";
        let err = parse_products_csv(
            &file(&[LONGAN, &bad_hs, &bad_tiers, &past, short, SOAP]),
            TODAY,
            None,
        )
        .unwrap_err();
        let found: Vec<(u64, &str)> = err.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            found,
            [
                (3, "hs"),
                (4, "tiers[0].min_quantity"),
                (4, "tiers[1].min_quantity"),
                (5, "departures[0].date"),
                (6, "row"),
                (7, "seller_id"),
            ]
        );
        assert!(err.to_string().contains("line 3: hs:"), "{err}");
    }

    #[test]
    fn a_seller_imports_only_for_itself() {
        let own = Uuid::parse_str(SELLER_A).unwrap();
        let other = LONGAN.replace(SELLER_A, "0190a5c4-7a3b-7c1d-8e2f-000000000002");
        let err = parse_products_csv(&file(&[LONGAN, &other, SOAP]), TODAY, Some(own)).unwrap_err();
        let found: Vec<(u64, &str)> = err.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(found, [(3, "seller_id")]);
    }

    #[test]
    fn a_multi_line_description_keeps_the_line_numbers_right() {
        let with_newline = LONGAN.replace("Hand-picked.", "\"Hand-picked,\nchilled.\"");
        let bad = LONGAN.replace(",KH,", ",XX,");
        let err = parse_products_csv(&file(&[&with_newline, &bad]), TODAY, None).unwrap_err();
        assert_eq!((err.0[0].line, err.0[0].field.as_str()), (4, "origin"));
    }

    /// A reader that hands out a few bytes at a time, as a pipe may.
    struct Trickle<'a>(&'a [u8]);

    impl io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(2);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn rows_are_read_one_at_a_time_from_any_reader() {
        let text = format!("\u{feff}{}", file(&[LONGAN, "not,a,row", TOUR]));
        let mut rows = ProductRows::new(Trickle(text.as_bytes()), TODAY, None).unwrap();
        assert_eq!(rows.next().unwrap().unwrap().line, 2);
        let bad = rows.next().unwrap().unwrap_err();
        assert!(bad.iter().all(|e| e.line == 3), "{bad:?}");
        assert_eq!(rows.next().unwrap().unwrap().line, 4);
        assert!(rows.next().is_none());

        // Text that is not UTF-8 stops the reading at its line.
        let mut bytes = file(&[LONGAN, LONGAN]).into_bytes();
        let at = bytes.len() - 5;
        bytes[at] = 0xff;
        let rows: Vec<RowResult> = ProductRows::new(&bytes[..], TODAY, None).unwrap().collect();
        assert_eq!(rows.len(), 2);
        let err = rows[1].as_ref().unwrap_err();
        assert_eq!((err[0].line, err[0].field.as_str()), (3, "row"));
        assert!(err[0].message.contains("UTF-8"), "{}", err[0].message);

        // The header is checked before any row.
        let wrong = header().replace("hs", "hs_code") + "\n" + LONGAN;
        let err = ProductRows::new(wrong.as_bytes(), TODAY, None)
            .err()
            .unwrap();
        assert_eq!((err.0[0].line, err.0[0].field.as_str()), (1, "header"));
    }

    #[test]
    fn a_wrong_header_is_one_error_naming_the_columns() {
        let text = header().replace("title_en", "title_english") + "\n" + LONGAN + "\n";
        let err = parse_products_csv(&text, TODAY, None).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!((err.0[0].line, err.0[0].field.as_str()), (1, "header"));
        assert!(
            err.0[0]
                .message
                .contains("seller_id,kind,original_locale,title_zh-CN")
        );
        assert!(
            err.0[0].message.contains("column 5 should be \"title_en\""),
            "{}",
            err.0[0].message
        );
        let err = parse_products_csv("seller_id,kind\n", TODAY, None).unwrap_err();
        assert!(
            err.0[0].message.contains("column 3"),
            "{}",
            err.0[0].message
        );
        // A byte-order mark from a spreadsheet is not part of the header.
        assert!(parse_products_csv(&format!("\u{feff}{}", file(&[LONGAN])), TODAY, None).is_ok());
        assert_eq!(parse_products_csv(&file(&[]), TODAY, None).unwrap(), vec![]);
    }

    #[test]
    fn a_missing_currency_is_one_error_not_one_per_price() {
        let no_currency = LONGAN.replace(",USD,", ",,");
        let err = parse_products_csv(&file(&[&no_currency]), TODAY, None).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["retail_price", "tiers"]);
        let bad_currency = LONGAN.replace(",USD,", ",usd,");
        let err = parse_products_csv(&file(&[&bad_currency]), TODAY, None).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["currency"]);
    }

    #[test]
    fn escapes_and_mixed_currencies_round_trip() {
        let seller = Uuid::parse_str(SELLER_A).unwrap();
        let mut rows = parse_products_csv(&file(&[SOAP]), TODAY, Some(seller)).unwrap();
        let d = &mut rows[0].draft;
        d.variants[0]
            .attributes
            .insert("note|x".into(), "a=b;c\\d,".into());
        d.wholesale = Some(Wholesale {
            moq: Decimal::from(10),
            tiers: vec![PriceTier {
                min_quantity: Decimal::from(10),
                unit_price: Money::parse("90", Currency::MXN).unwrap(),
            }],
        });
        let text = products_to_csv([(seller, &*d)]).unwrap();
        assert!(text.contains("10:90.00 MXN"), "{text}");
        let back = parse_products_csv(&text, TODAY, None).unwrap();
        assert_eq!(&back[0].draft, d);
    }

    fn money(cents: u32, currency: Currency) -> Money {
        Money::from_minor(i64::from(cents) + 1, currency)
    }

    fn text(max: usize) -> impl Strategy<Value = String> {
        // Letters of the four languages, CSV and cell separators, quotes and newlines.
        proptest::string::string_regex(&format!("[a-zA-Zé中文龙眼,;|=\\\\\" \\n]{{0,{max}}}"))
            .unwrap()
            .prop_filter("non-blank", |s| !s.trim().is_empty())
    }

    fn attribute() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-zé中,;|=\\\\ ]{1,12}")
            .unwrap()
            .prop_map(|s| s.trim().to_owned())
            .prop_filter("non-blank", |s| !s.is_empty())
    }

    prop_compose! {
        fn goods()(
            titles in proptest::collection::btree_map(
                proptest::sample::select(Locale::ALL.to_vec()), text(40), 1..4),
            descriptions in proptest::collection::btree_map(
                proptest::sample::select(Locale::ALL.to_vec()), text(80), 0..4),
            hs in proptest::sample::select(vec!["081090", "08109030", "0904211000", "220890"]),
            origin in proptest::sample::select(vec!["KH", "MX", "RW", "CA"]),
            currency in proptest::sample::select(vec![Currency::USD, Currency::CNY, Currency::JPY]),
            retail in proptest::option::of(0u32..1_000_000),
            weight in proptest::option::of(1u32..100_000),
            shelf in proptest::option::of(1u32..400),
            cold_chain in any::<bool>(),
            moq in 1u32..1000,
            breaks in proptest::collection::vec((1u32..1000, 1u32..100_000), 0..4),
            stock in 0u32..100_000,
            variant_attrs in proptest::collection::vec(
                proptest::collection::btree_map(attribute(), attribute(), 1..3), 0..4),
            category in proptest::option::of("[a-z]{1,10}(-[a-z0-9]{1,5})?"),
        ) -> ProductDraft {
            let retail_price = retail.map(|c| money(c, currency));
            let original_locale = *titles.keys().next().unwrap_or(&Locale::En);
            let mut at = moq;
            let mut tiers = vec![PriceTier { min_quantity: Decimal::from(moq), unit_price: money(breaks.first().map_or(500, |b| b.1), currency) }];
            for (step, price) in &breaks {
                at += step;
                tiers.push(PriceTier { min_quantity: Decimal::from(at), unit_price: money(*price, currency) });
            }
            let wholesale = (retail_price.is_none() || !breaks.is_empty())
                .then(|| Wholesale { moq: Decimal::from(moq), tiers });
            let mut seen = BTreeSet::new();
            let variants: Vec<Variant> = variant_attrs
                .into_iter()
                .filter(|a| seen.insert(a.clone()))
                .enumerate()
                .map(|(i, attributes)| Variant {
                    sku: format!("SKU-{i}.a/b_c"),
                    attributes,
                    retail_price: retail_price.filter(|_| i % 2 == 0).map(|m| money(i as u32 * 7, m.currency())),
                    stock: retail_price.map(|_| stock + i as u32),
                    weight_kg_per_unit: (i % 3 == 1).then(|| Decimal::new(i as i64 + 5, 1)),
                })
                .collect();
            ProductDraft {
                kind: ProductKind::Goods,
                original_locale,
                titles,
                descriptions,
                hs: hs.parse().unwrap(),
                category,
                origin: origin.parse().unwrap(),
                unit: Unit::Piece,
                weight_kg_per_unit: weight.map(|w| Decimal::new(i64::from(w), 3)),
                volume_l_per_unit: None,
                cold_chain,
                shelf_life_days: shelf,
                retail_price,
                wholesale,
                stock: (retail_price.is_some() && variants.is_empty()).then_some(stock),
                departures: vec![],
                variants,
            }
        }
    }

    prop_compose! {
        fn tour()(
            title in text(60),
            price in 1u32..1_000_000,
            departures in proptest::collection::btree_map(1i64..1000, 1u32..60, 1..5),
        ) -> ProductDraft {
            ProductDraft {
                kind: ProductKind::TravelPackage,
                original_locale: Locale::Fr,
                titles: Localized::from([(Locale::Fr, title)]),
                descriptions: Localized::new(),
                hs: "9999.00".parse().unwrap(),
                category: None,
                origin: "RW".parse().unwrap(),
                unit: Unit::Seat,
                weight_kg_per_unit: None,
                volume_l_per_unit: Some(Decimal::new(15, 1)),
                cold_chain: false,
                shelf_life_days: None,
                retail_price: Some(money(price, Currency::EUR)),
                wholesale: None,
                stock: None,
                departures: departures
                    .into_iter()
                    .map(|(days, seats)| Departure { date: TODAY + time::Duration::days(days), seats })
                    .collect(),
                variants: vec![],
            }
        }
    }

    proptest! {
        #[test]
        fn an_export_imports_back_to_the_same_products(
            drafts in proptest::collection::vec(prop_oneof![goods(), tour()], 0..6),
        ) {
            let seller = Uuid::parse_str(SELLER_A).unwrap();
            for d in &drafts {
                prop_assert_eq!(validate(d, TODAY), Ok(()), "{:?}", d);
            }
            let text = products_to_csv(drafts.iter().map(|d| (seller, d))).unwrap();
            let back = parse_products_csv(&text, TODAY, None)
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            prop_assert_eq!(back.len(), drafts.len());
            for (row, d) in back.iter().zip(&drafts) {
                prop_assert_eq!(row.seller, seller);
                prop_assert_eq!(&row.draft, d);
            }
        }

        #[test]
        fn any_text_is_rows_or_line_numbered_errors_never_a_panic(body in "[a-z0-9,;:|.\\-\"\\n]{0,200}") {
            if let Err(e) = parse_products_csv(&format!("{}\n{body}", header()), TODAY, None) {
                prop_assert!(e.0.iter().all(|r| r.line >= 2));
            }
        }
    }
}
