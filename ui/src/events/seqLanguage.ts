// Seq's search and query syntax for CodeMirror 6: highlighting (a stream tokenizer is enough
// for a one-line language), and completion of keywords, built-in properties, functions and the
// property names seen in recent events.

import { StreamLanguage, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import type { CompletionContext, CompletionResult, Completion } from "@codemirror/autocomplete";
import { tags } from "@lezer/highlight";

export const KEYWORDS = [
  "and", "or", "not", "like", "in", "is", "null", "true", "false", "ci", "select", "from", "where",
  "group", "by", "order", "asc", "desc", "limit", "having", "as", "stream", "distinct", "time",
];

export const BUILTINS = [
  "@Timestamp", "@Level", "@Message", "@MessageTemplate", "@Exception", "@EventType", "@Id",
  "@Properties", "@Arrived", "@TraceId", "@SpanId", "@ParentId", "@SpanKind", "@Start", "@Elapsed",
  "@Resource", "@Scope", "@Document", "@Data",
];

export const FUNCTIONS = [
  "Arrived", "Bucket", "Coalesce", "Concat", "Contains", "DatePart", "DateTime", "ElementAt",
  "EndsWith", "FromJson", "Has", "IndexOf", "IndexOfIgnoreCase", "IndexOfMatch", "IsDefined",
  "IsMatch", "Keys", "LastIndexOf", "Length", "Now", "OffsetIn", "Replace", "Round", "StartsWith",
  "Substring", "TagOf", "TimeOfDay", "TimeSpan", "ToEventType", "ToHexString", "ToIsoString",
  "ToJson", "ToLower", "ToNumber", "ToString", "TotalMilliseconds", "ToTimeString", "ToUpper",
  "TypeOf", "Undefined", "UriEncode", "UtcDateTime", "Values",
  // Aggregates, in queries.
  "count", "distinct", "sum", "min", "max", "mean", "percentile", "first", "last", "any", "all",
];

const keywordSet = new Set(KEYWORDS);

interface State {
  inString: boolean;
}

export const seqLanguage = StreamLanguage.define<State>({
  name: "seq",
  startState: () => ({ inString: false }),
  token(stream, state) {
    if (state.inString || stream.peek() === "'") {
      if (!state.inString) stream.next();
      state.inString = true;
      while (!stream.eol()) {
        if (stream.next() === "'") {
          if (stream.peek() === "'") stream.next();
          else {
            state.inString = false;
            break;
          }
        }
      }
      return "string";
    }
    if (stream.eatSpace()) return null;
    if (stream.match(/^\d+(\.\d+)?(ms|d|h|m|s)?\b/)) return "number";
    if (stream.match(/^@[A-Za-z_][A-Za-z0-9_]*/)) return "atom";
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const word = stream.current();
      if (keywordSet.has(word.toLowerCase())) return "keyword";
      if (stream.peek() === "(") return "function";
      return "propertyName";
    }
    if (stream.match(/^(<>|<=|>=|=|<|>|\+|-|\*|\/|%|\^)/)) return "operator";
    stream.next();
    return "punctuation";
  },
  tokenTable: {
    atom: tags.special(tags.variableName),
    function: tags.function(tags.variableName),
  },
});

export const seqHighlighting = syntaxHighlighting(
  HighlightStyle.define([
    { tag: tags.string, class: "tok-string" },
    { tag: tags.number, class: "tok-number" },
    { tag: tags.keyword, class: "tok-keyword" },
    { tag: tags.special(tags.variableName), class: "tok-builtin" },
    { tag: tags.function(tags.variableName), class: "tok-function" },
    { tag: tags.propertyName, class: "tok-property" },
    { tag: tags.operator, class: "tok-operator" },
  ]),
);

/// Completion of the word before the cursor; `properties` gives the names seen in recent
/// events at the time of asking.
export function seqCompletions(properties: () => string[]) {
  return (context: CompletionContext): CompletionResult | null => {
    const word = context.matchBefore(/@?[A-Za-z_][A-Za-z0-9_]*/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    const inString = (context.state.sliceDoc(0, word.from).match(/'/g)?.length ?? 0) % 2 === 1;
    if (inString) return null;
    const options: Completion[] = [
      ...properties().map((label) => ({ label, type: "property", boost: 2 })),
      ...BUILTINS.map((label) => ({ label, type: "variable", detail: "built-in" })),
      ...FUNCTIONS.map((label) => ({ label, type: "function", apply: `${label}(` })),
      ...KEYWORDS.map((label) => ({ label, type: "keyword" })),
    ];
    return { from: word.from, options, validFor: /^@?[A-Za-z0-9_]*$/ };
  };
}

/// Whether input reads like an expression attempt, so a parse error deserves a squiggle
/// rather than a quiet fall-back to text search.
export function looksLikeExpression(text: string): boolean {
  return /[=<>()'@]|\b(and|or|not|like|in|is)\b/i.test(text);
}

export function isQuery(text: string): boolean {
  return /^\s*select\b/i.test(text);
}
