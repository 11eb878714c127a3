// Level names as clients send them (Serilog, Microsoft.Extensions.Logging, syslog, OTel) mapped
// to the six colours of the list.

export type LevelClass = "verbose" | "debug" | "information" | "warning" | "error" | "fatal";

export function levelClass(level: string | undefined): LevelClass {
  const l = (level ?? "").toLowerCase();
  if (l.startsWith("verb") || l.startsWith("trace")) return "verbose";
  if (l.startsWith("deb") || l === "dbg") return "debug";
  if (l.startsWith("warn") || l === "wrn") return "warning";
  if (l.startsWith("err") || l === "eror" || l === "fail") return "error";
  if (l.startsWith("fatal") || l.startsWith("crit") || l === "emergency" || l === "alert") return "fatal";
  return "information";
}
