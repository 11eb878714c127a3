import { render } from "preact";
import { App } from "./App";
import "./style.css";
import { applyStoredTheme } from "./theme";

applyStoredTheme();

render(<App />, document.getElementById("app")!);
