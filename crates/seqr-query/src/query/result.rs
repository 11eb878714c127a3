//! Result shapes (Seq's `QueryResultPart`) and their JSON and CSV forms.

use seqr_types::Timestamp;
use serde_json::{Map, Value as Json};

use crate::value::{Eval, Value};

/// A query's result: column names and exactly one of rows, slices or series.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub data: ResultData,
    /// Values assigned by `into $name` (names without the `$`).
    pub variables: Option<Vec<(String, Value)>>,
    /// The slice width of `group by time(…)`, in ticks.
    pub interval_ticks: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ResultData {
    /// No time grouping.
    Rows(Vec<Vec<Eval>>),
    /// `group by time(…)` alone.
    Slices(Vec<Slice>),
    /// `group by time(…)` with other keys: one series per key.
    Series(Vec<Series>),
}

/// The rows of one time slice; `time` is its start, in ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    pub time: i64,
    pub rows: Vec<Vec<Eval>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The values of the group keys (other than time).
    pub key: Vec<Eval>,
    pub slices: Vec<Slice>,
}

fn cell(v: &Eval) -> Json {
    v.as_ref().map_or(Json::Null, Value::to_json)
}

fn rows_json(rows: &[Vec<Eval>]) -> Json {
    Json::Array(
        rows.iter()
            .map(|r| Json::Array(r.iter().map(cell).collect()))
            .collect(),
    )
}

fn slices_json(slices: &[Slice]) -> Json {
    Json::Array(
        slices
            .iter()
            .map(|s| {
                let mut m = Map::new();
                m.insert(
                    "Time".into(),
                    Json::String(Timestamp::from_ticks(s.time).to_iso()),
                );
                m.insert("Rows".into(), rows_json(&s.rows));
                Json::Object(m)
            })
            .collect(),
    )
}

impl QueryResult {
    /// Rows in total, across slices and series.
    pub fn row_count(&self) -> usize {
        match &self.data {
            ResultData::Rows(r) => r.len(),
            ResultData::Slices(s) => s.iter().map(|s| s.rows.len()).sum(),
            ResultData::Series(series) => series
                .iter()
                .flat_map(|s| &s.slices)
                .map(|s| s.rows.len())
                .sum(),
        }
    }

    /// `QueryResultPart` members: `Columns`, one of `Rows`/`Slices`/`Series`, `Variables`
    /// when `into` assigned one, and `ColumnMetadata`-free. Undefined is `null`; numbers are
    /// plain JSON numbers with their exact decimal digits.
    pub fn to_json(&self) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert(
            "Columns".into(),
            Json::Array(self.columns.iter().cloned().map(Json::String).collect()),
        );
        match &self.data {
            ResultData::Rows(rows) => {
                m.insert("Rows".into(), rows_json(rows));
            }
            ResultData::Slices(slices) => {
                m.insert("Slices".into(), slices_json(slices));
            }
            ResultData::Series(series) => {
                m.insert(
                    "Series".into(),
                    Json::Array(
                        series
                            .iter()
                            .map(|s| {
                                let mut o = Map::new();
                                o.insert(
                                    "Key".into(),
                                    Json::Array(s.key.iter().map(cell).collect()),
                                );
                                o.insert("Slices".into(), slices_json(&s.slices));
                                Json::Object(o)
                            })
                            .collect(),
                    ),
                );
            }
        }
        if let Some(vars) = &self.variables {
            m.insert(
                "Variables".into(),
                Json::Object(vars.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            );
        }
        m
    }

    /// RFC 4180 CSV: a header of the column names (preceded by `Time` for time-sliced
    /// results), CRLF line ends, fields quoted when they hold a comma, quote or line break.
    /// Strings are written as they are, numbers by their digits, null and undefined as an
    /// empty field, arrays and objects as JSON.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let timed = !matches!(self.data, ResultData::Rows(_));
        let mut header: Vec<String> = Vec::new();
        if timed {
            header.push("Time".into());
        }
        header.extend(self.columns.iter().cloned());
        line(&mut out, header.iter().map(String::as_str));
        let write_rows = |out: &mut String, time: Option<i64>, rows: &[Vec<Eval>]| {
            let time = time.map(|t| Timestamp::from_ticks(t).to_iso());
            for r in rows {
                let cells: Vec<String> =
                    time.iter().cloned().chain(r.iter().map(csv_text)).collect();
                line(out, cells.iter().map(String::as_str));
            }
        };
        match &self.data {
            ResultData::Rows(rows) => write_rows(&mut out, None, rows),
            ResultData::Slices(slices) => {
                for s in slices {
                    write_rows(&mut out, Some(s.time), &s.rows);
                }
            }
            ResultData::Series(series) => {
                for s in series.iter().flat_map(|s| &s.slices) {
                    write_rows(&mut out, Some(s.time), &s.rows);
                }
            }
        }
        out
    }
}

fn csv_text(v: &Eval) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_json().to_string(),
    }
}

fn line<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}
