"""The one LaTeX source reader: citations in every form, comments, both kinds of skeleton slots,
and the write-up's slot filling on top of it."""
from __future__ import annotations

from scientist.latex import source
from scientist.latex.template import clean_section, fill_section, section_body, section_names

AI_SCIENTIST_TEX = r"""\documentclass{article}
\usepackage{tinyconf}
\begin{filecontents}{references.bib}
@article{a2020, title = {A {Nested} Title}, author = {A}, year = {2020}}
@comment{not an entry,}
\end{filecontents}
\title{TITLE HERE}
\begin{document}
\maketitle
\begin{abstract}
ABSTRACT HERE
\end{abstract}
\section{Introduction}
\label{sec:intro}
INTRO HERE
% a comment with \section{Fake} inside
\section{Results}
\label{sec:results}
RESULTS HERE
\begin{figure}[h]
\includegraphics[width=0.5\textwidth]{example.png}
\caption{PLEASE FILL IN CAPTION HERE}
\end{figure}

\section*{Conclusions and Future Work}
CONCLUSIONS HERE

\bibliographystyle{tinyplain}
\bibliography{references}
\end{document}
"""


def test_citations_with_optional_arguments_stars_and_capitals():
    tex = (r"\begin{document}See \citep[see][p.~3]{x, y} and \cite*{z}; \Citet{w} \citeauthor{v}"
           r" \nocite{u} \citep [e.g.] {t} % \cite{commented}" "\n" r"\citestyle{plain} 50\% \cite{s}\end{document}")
    assert source.citations(tex) == ["x", "y", "z", "w", "v", "u", "t", "s"]
    cites = {c.keys[0]: c for c in source.cite_commands(tex)}
    assert cites["x"].options == ("see", "p.~3") and cites["x"].command == "citep"
    assert cites["z"].star and cites["t"].options == ("e.g.",)


def test_optional_argument_with_brackets_inside_braces():
    tex = r"\citep[{see [4]}][p.~3]{key}"
    [c] = source.cite_commands(tex)
    assert c.keys == ("key",) and c.options == ("{see [4]}", "p.~3")


def test_drop_unknown_citations_keeps_options_and_removes_empty_cites():
    tex = r"A \citep[see][p.~3]{good,bad} B \cite*{bad} C \citet{good} D"
    out, removed = source.drop_unknown_citations(tex, {"good"})
    assert out == r"A \citep[see][p.~3]{good} B  C \citet{good} D"
    assert removed == ["bad", "bad"]
    # The regex this replaced left "\cite*{bad}" in place (it matched no star) and lost [p.~3].


def test_comments_respect_escaped_percent_and_escaped_backslash():
    tex = "50\\% done % comment\nline \\\\% comment after a line break\n"
    assert source.strip_comments(tex) == "50\\% done \nline \\\\\n"
    assert len(source.blank_comments(tex)) == len(tex)


def test_heading_skeleton_slots():
    slots = source.find_slots(AI_SCIENTIST_TEX)
    assert [s.name for s in slots] == ["Title", "Abstract", "Introduction", "Results", "Conclusions and Future Work"]
    by = {s.name: s for s in slots}
    assert by["Title"].body == "TITLE HERE" and by["Abstract"].body.strip() == "ABSTRACT HERE"
    assert "INTRO HERE" in by["Introduction"].body and "\\label" not in by["Introduction"].body
    assert "PLEASE FILL IN CAPTION HERE" in by["Results"].body  # the example figure is part of the slot
    assert "\\bibliography" not in by["Conclusions and Future Work"].body


def test_fill_heading_skeleton_keeps_headings_labels_and_bibliography():
    tex = AI_SCIENTIST_TEX
    for name in section_names(tex):
        tex = fill_section(tex, name, f"Body of {name}.")
    tex = fill_section(tex, "Results", "Refilled results.")  # a slot can be written again
    assert "HERE" not in source.strip_comments(tex)
    assert "\\label{sec:results}\n" in tex and "\\bibliography{references}" in tex
    assert section_body(tex, "Results").strip() == "Refilled results."
    assert r"\title{Body of Title.}" in tex
    assert [s.title for s in source.sections(tex)] == ["Introduction", "Results", "Conclusions and Future Work"]


def test_a_model_section_heading_cannot_split_a_slot():
    body = clean_section("```latex\n\\section{Extra}\nText.\n```", "Results")
    assert body == "\\subsection{Extra}\nText."
    tex = fill_section(AI_SCIENTIST_TEX, "Results", body)
    assert section_names(tex) == section_names(AI_SCIENTIST_TEX)


def test_marker_slots_win_over_headings():
    tex = "\\begin{document}\n\\section{Intro}\n%% BEGIN SECTION: Intro\nx\n%% END SECTION: Intro\n\\end{document}"
    assert [(s.name, s.kind) for s in source.find_slots(tex)] == [("Intro", "marker")]


def test_bibliographies_embedded_and_entry_titles():
    [bib] = source.embedded_bibliographies(AI_SCIENTIST_TEX)
    assert source.bib_entries(bib) == {"a2020": "A Nested Title"}


def test_prose_words_ignore_citation_options():
    assert source.prose_words(r"Good \citep[see][p.~3]{key} result") == ["Good", "result"]


def test_numbers_inside_citation_options_are_not_claims():
    from benchmark.validity.numbers import quoted_numbers

    tex = r"We reach 0.953 \citep[{see [45.5]}][p.~33]{k} and 12.5 \cite*[Table 77.1]{j}."
    assert [q.text for q in quoted_numbers(tex)] == ["0.953", "12.5"]


def test_tables_expand_multicolumn_and_multirow_spans():
    from scientist.latex.source import tables

    tex = r"""\begin{table}\caption{Run 0 against Run 3}\begin{tabular}{lcccc}\toprule
Task & \multicolumn{2}{c}{Final Val Acc} & \multicolumn{2}{c}{Steps} \\
& Baseline & Ours & Baseline & Ours \\ \midrule
\multirow{2}{*}{Division} & 1.0000 & 0.9998 & 4200.0 & 1923.3 \\
 & 0.5 & 0.6 & 10 & 20 \\ \bottomrule
\end{tabular}\end{table}"""
    (t,) = tables(tex)
    assert t.header_rows == 2 and t.caption == "Run 0 against Run 3"
    assert t.header(4) == ["Steps", "Ours"]  # the old reader named this column "Final Val Acc"
    assert [c.text for c in t.rows[2]] == ["Division", "1.0000", "0.9998", "4200.0", "1923.3"]
    assert t.rows[3][0].text == "Division" and t.rows[3][0].spanned  # carried down by \multirow
