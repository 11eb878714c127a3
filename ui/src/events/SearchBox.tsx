// The one search box: CodeMirror 6 with Seq's syntax highlighted, completion, and the
// parser's errors underlined where the server says they are.

import { useEffect, useRef } from "preact/hooks";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { autocompletion, completionKeymap, closeBrackets } from "@codemirror/autocomplete";
import { linter, forceLinting, type Diagnostic } from "@codemirror/lint";
import { api, withQuery, type ExpressionPart } from "../api";
import { isQuery, looksLikeExpression, seqCompletions, seqHighlighting, seqLanguage } from "./seqLanguage";

/// The style nonce the server put in the page (CodeMirror injects its styles as `<style>`).
const styleNonce = document.querySelector('meta[name="csp-nonce"]')?.getAttribute("content") ?? "";

export interface QueryProblem {
  text: string;
  from: number;
  to: number;
  message: string;
}

interface Props {
  /// Text put into the box from outside (the URL, include/exclude, history): replaces the
  /// document whenever `revision` changes. Typing never comes back through here, so a render
  /// that lags behind the keyboard cannot undo a keystroke.
  value: { text: string; revision: number };
  onChange: (text: string) => void;
  onSubmit: (text: string) => void;
  /// Property names seen in recent events, for completion.
  properties: () => string[];
  /// The error of the last query run, shown while the text is unchanged.
  problem: QueryProblem | null;
}

export function SearchBox({ value, onChange, onSubmit, properties, problem }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // Callbacks change every render; the editor is built once and reads them through refs.
  const latest = useRef({ onChange, onSubmit, properties, problem });
  latest.current = { onChange, onSubmit, properties, problem };

  useEffect(() => {
    const lint = linter(
      async (v): Promise<Diagnostic[]> => {
        const text = v.state.doc.toString();
        const p = latest.current.problem;
        if (p && p.text === text) {
          return [{ from: Math.min(p.from, text.length), to: Math.min(p.to, text.length), severity: "error", message: p.message }];
        }
        if (!text.trim() || isQuery(text) || !looksLikeExpression(text)) return [];
        try {
          const part = await api<ExpressionPart>("GET", withQuery("/api/expressions/tostrict", { fuzzy: text }));
          if (!part.ErrorSpan || v.state.doc.toString() !== text) return [];
          const from = Math.min(part.ErrorSpan.Start, text.length);
          return [{
            from,
            to: Math.min(Math.max(part.ErrorSpan.End, from), text.length),
            severity: "warning",
            message: `Searched as text: ${part.ReasonIfMatchedAsText ?? "not an expression"}`,
          }];
        } catch {
          return [];
        }
      },
      { delay: 400 },
    );
    const submit = (v: EditorView) => {
      latest.current.onSubmit(v.state.doc.toString());
      return true;
    };
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value.text,
        extensions: [
          EditorView.cspNonce.of(styleNonce),
          history(),
          closeBrackets(),
          autocompletion({ override: [seqCompletions(() => latest.current.properties())] }),
          keymap.of([{ key: "Enter", run: submit }, ...completionKeymap, ...defaultKeymap, ...historyKeymap]),
          seqLanguage,
          seqHighlighting,
          lint,
          placeholder("Search: free text, or an expression such as @Level = 'Error' — select … for a query"),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ "aria-label": "Search", "data-testid": "search" }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) latest.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
  }, []);

  // Text set from outside (include/exclude, history, the URL) replaces the document.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value.text) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value.text } });
    }
  }, [value.revision]);

  useEffect(() => {
    if (view.current) forceLinting(view.current);
  }, [problem]);

  return <div class="search-box" ref={host} />;
}
