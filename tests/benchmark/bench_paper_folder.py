"""Hand-made paper folders for validity tests: one valid, then variants with one defect each."""
from __future__ import annotations

import json
from pathlib import Path

VALID_TEX = r"""\documentclass{article}
\usepackage{graphicx}
\begin{document}
\title{Adaptive Weight Decay Speeds Up Grokking}
\maketitle
\begin{abstract}
We study how an adaptive weight decay schedule changes the time a small transformer needs to generalise.
\end{abstract}
\section{Introduction}
Grokking is delayed generalisation long after the training set is fit \cite{power2022grokking}.
Weight decay is known to matter \cite{liu2022omnigrok, power2022grokking}.
\section{Method}
\label{sec:method}
We scale the weight decay with the ratio of training to validation loss.
\section{Results}
% the numbers below come from run_1/final_info.json
With adaptive decay the model reaches a final validation accuracy of 0.953 (95.3\%) and needs
4,260 steps to reach 99\% validation accuracy, against 7,420 steps for the baseline
(Figure~\ref{fig:val}, Section~\ref{sec:method}). We used 3 seeds in 2024. The final training loss was
$1.2 \times 10^{-3}$ with a learning rate of $10^{-3}$.
\begin{figure}[h]
\centering
\includegraphics[width=0.8\textwidth]{val_acc.png}
\caption{Validation accuracy over training.}
\label{fig:val}
\end{figure}
\section{Conclusion}
An adaptive weight decay schedule shortens the plateau before generalisation on modular division,
and the effect is consistent over the seeds we ran; larger models and other tasks remain to be tested.
BIBLIOGRAPHY
\end{document}
"""

BIB = r"""@article{power2022grokking,
  title={Grokking: Generalization beyond overfitting on small algorithmic datasets},
  author={Power, Alethea and others}, journal={arXiv preprint arXiv:2201.02177}, year={2022}}
@article{liu2022omnigrok,
  title={Omnigrok: Grokking beyond algorithmic data}, author={Liu, Ziming and others},
  journal={arXiv preprint arXiv:2210.01117}, year={2022}}
"""

INLINE_BIB = r"""\begin{thebibliography}{2}
\bibitem{power2022grokking} A. Power et al. Grokking: generalization beyond overfitting. 2022.
\bibitem{liu2022omnigrok} Z. Liu et al. Omnigrok: grokking beyond algorithmic data. 2022.
\end{thebibliography}"""

FINAL_INFO_BASELINE = {"x_div_y": {"means": {"final_val_acc_mean": 0.7812, "step_val_acc_99_mean": 7420.0,
                                             "final_train_loss_mean": 0.0035},
                                   "stderrs": {"final_val_acc_stderr": 0.012}, "final_info_dict": {}}}
FINAL_INFO_RUN = {"x_div_y": {"means": {"final_val_acc_mean": 0.95312, "step_val_acc_99_mean": 4260.0,
                                        "final_train_loss_mean": 0.00121},
                              "stderrs": {"final_val_acc_stderr": 0.0041}, "final_info_dict": {}}}
EXPERIMENT_PY = "LEARNING_RATE = 1e-3\nVAL_ACC_THRESHOLD = 0.99\nNUM_STEPS = 7500\n"


def write_png(path: Path) -> None:
    import pymupdf

    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 8, 8), False)
    pix.clear_with(200)
    pix.save(str(path))


def write_text_pdf(path: Path, text: str, pages: int = 3) -> None:
    """A PDF with real text, standing in for pdflatex's output in fast tests."""
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page()
        page.insert_text((72, 72), f"{text} page {i + 1}")
    doc.save(str(path))


def write_results(idea: Path, runs: dict[str, dict], code: str = EXPERIMENT_PY) -> None:
    """The records the harness writes when each run ends (scientist.stages.experiments.record_results)."""
    from scientist.records import RunResults

    (idea / "results").mkdir(parents=True, exist_ok=True)
    for run, info in runs.items():
        (idea / "results" / f"{run}.json").write_text(
            RunResults(run=run, final_info=info, stdout="", code=code).model_dump_json())


def make_paper(root: Path, *, tex: str = VALID_TEX, bib: str | None = BIB, figure: bool = True,
               pdf_pages: int | None = 3, final_info: bool = True, name: str = "adaptive_decay") -> Path:
    """An idea folder as the pipeline leaves it: code/run_*/final_info.json, the harness's
    records of them in results/ (the only evidence), paper/."""
    idea = root / name
    paper, code = idea / "paper", idea / "code"
    paper.mkdir(parents=True)
    (code / "run_0").mkdir(parents=True)
    (code / "run_1").mkdir()
    (code / "experiment.py").write_text(EXPERIMENT_PY)
    if final_info:
        (code / "run_0" / "final_info.json").write_text(json.dumps(FINAL_INFO_BASELINE))
        (code / "run_1" / "final_info.json").write_text(json.dumps(FINAL_INFO_RUN))
        write_results(idea, {"run_0": FINAL_INFO_BASELINE, "run_1": FINAL_INFO_RUN})
    bibliography = "\\bibliographystyle{plain}\n\\bibliography{references}" if bib is not None else INLINE_BIB
    (paper / "template.tex").write_text(tex.replace("BIBLIOGRAPHY", bibliography))
    if bib is not None:
        (paper / "references.bib").write_text(bib)
    if figure:
        write_png(paper / "val_acc.png")
    if pdf_pages is not None:
        write_text_pdf(paper / "paper.pdf", "Adaptive Weight Decay Speeds Up Grokking", pdf_pages)
    return idea
