"""Regenerate the contract tables of docs/workbook.md from cowopt.schema.

The tables between the GENERATED markers are written from the schema (sheets, columns,
Settings keys), so the documentation cannot drift from what cowopt reads;
tests/test_docs.py fails when they differ. Run after changing model/schema.py:

    .venv/bin/python docs/build_workbook_doc.py
"""

from __future__ import annotations

from pathlib import Path

from cowopt.workbook import schema

DOC = Path(__file__).resolve().parent / "workbook.md"
BEGIN = "<!-- GENERATED from cowopt.schema by docs/build_workbook_doc.py: do not edit by hand -->"
END = "<!-- END GENERATED -->"


def _default(value) -> str:
    return "" if value is None or value == "" else str(value)


def contract_markdown() -> str:
    """Markdown tables: one per sheet, then the Settings keys."""
    parts = []
    for sheet in schema.SHEETS:
        optional = "" if sheet.required else " (optional)"
        parts.append(f"**{sheet.name}**{optional} — {sheet.description}\n")
        parts.append("| column | kind | required | meaning |\n|---|---|---|---|")
        for c in sheet.columns:
            required = "yes" if c.required else (f"no (default {c.default})" if _default(c.default) else "no")
            parts.append(f"| `{c.name}` | {c.expected} | {required} | {c.description} |")
        parts.append("")
    parts.append("**Settings keys**\n")
    parts.append("| key | unit | default | meaning |\n|---|---|---|---|")
    for s in schema.SETTINGS:
        default = "required" if s.required else (_default(s.default) or "blank")
        parts.append(f"| `{s.key}` | {s.unit} | {default} | {s.description} |")
    return "\n".join(parts) + "\n"


def generated_part(text: str) -> str:
    """What a document holds between the markers."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{BEGIN}\n{contract_markdown()}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
