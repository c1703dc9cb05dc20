"""What kind of claim a quoted number makes, from its words, its unit and its place in a table.

- label: part of a row label or a header ("Combined (15%)", "Steps to 99% Val Acc"): a name;
- threshold: a constant of the method's or metric's definition ("steps to 99% validation
  accuracy", "95% confidence interval", the `0.99` a run's code compares against);
- setting: a hyper-parameter or setting ("learning rate of 3e-4", "batch size 256",
  "10,000 training steps", "$\\eta = 0.1$"), checked against the code that ran, never counted
  against the paper;
- derived: a relative change, ratio, difference or aggregate ("a 61% reduction", "2x faster",
  "on average across datasets"), checked against the same computation on the logged values;
- count: an integer up to ten or a year ("3 seeds", "all 4 tasks", "in 2023") whose neighbouring
  words name no measurement; "an accuracy of 0", "0 steps", a "1" in an accuracy column are results;
- result: anything else: a logged value, at the quoted precision.

Words decide, never the value itself: a paper cannot make a result a setting by its number.
"""
from __future__ import annotations

import re

from benchmark.validity.claims import Claim
from benchmark.validity.evidence import Evidence, Logged, name_words

# Setting nouns; "steps" alone is a result ("in 2363 steps"), "training steps" a setting.
_SETTING = re.compile(
    r"learning[\s-]*rates?|\blr\b|batch[\s-]*sizes?|\bbatch\b|epochs?|iterations|training\s+steps|train\s+steps|"
    r"total\s+steps|warm-?up|time-?steps|diffusion\s+steps|hidden|dimensions?|\bdims?\b|layers?|heads?|dropout|"
    r"weight[\s-]*decay|momentum|probabilit(?:y|ies)|\bprob\b|temperature|window|embedding|units|neurons|kernel|"
    r"stride|seeds?|configuration|hyper-?parameters?|\bbeta\b|\balpha\b|\blambda\b|coefficient|loss\s+weight|"
    r"weight\s+of|ratio\s+of|budget|optimizer|schedule|capacity|vocabulary|context\s+length|block\s+size|"
    r"sequence\s+length|samples\s+per|per\s+batch|number\s+of\s+(?:\w+\s+)?(?:layers|heads|units|steps|epochs)",
    re.I)
_THRESHOLD_WORDS = re.compile(r"confidence\s+(?:interval|level)|\bCI\b|significance|threshold|\bcut-?off\b|tolerance",
                             re.I)
# "to reach NUM% accuracy", "until NUM% validation accuracy": the number is a target
_REACH = re.compile(r"(?:\bto|\breach(?:es|ed|ing)?|\buntil|\bbefore|\babove|\bbelow|\bexceed(?:s|ed|ing)?|"
                    r"\bat\s+least)\s+(?:a\s+|an\s+|the\s+)?\$?\s*NUM", re.I)
# A setting's noun sits right by its number: "batch size of 256", "learning rate to 0.001",
# "128 hidden dimensions", "15% probability"; "the 2-layer model reaches 0.95" does not make 0.95 one.
_GLUE = r"(?:\s*(?:of|=|:|to|is|was|at|set\s+to|equal\s+to|fixed\s+(?:at|to)|of\s+about|around|about|"\
        r"\(|\$|\\\(|~)\s*){0,3}\s*"
_SETTING_BEFORE = re.compile(r"(?P<noun>" + _SETTING.pattern + r")" + _GLUE + r"NUM", re.I)
_SETTING_AFTER = re.compile(r"NUM\s*\$?\s*(?:\\?%)?\s*(?:(?!(?:across|on|for|in|over|with|at|by|from|per|and|or|of|the)\b)"
                            r"[A-Za-z]+[\s-]+)?(?P<noun>" + _SETTING.pattern + r")", re.I)
# counts and splits of the data a run was given: "1,000 samples", "80% of the training data"
_DATA_SIZE = re.compile(r"NUM\s*\$?\s*(?:(?:\\?%\s*)?of\s+(?:the\s+)?(?:\w+\s+)?(?:data|dataset|samples|examples|training\s+set)"
                        r"|(?:training\s+|test\s+|validation\s+|generated\s+)?(?:samples|examples|data\s+points|"
                        r"sequences|images|parameters|params|instances|trials)\b)", re.I)
_THRESHOLD_NEAR = re.compile(
    r"(?:threshold|cut-?off|tolerance|confidence\s+(?:interval|level)|significance(?:\s+level)?)" + _GLUE + r"NUM"
    r"|NUM\s*\$?\s*(?:\\?%)?\s*(?:confidence|CI\b|threshold|cut-?off|significance)", re.I)
# "achieved 99% validation accuracy in 2363 steps": the percentage is the level, the steps the result
_LEVEL_IN_STEPS = re.compile(r"NUM(?:\s*\$?\s*\\?%)?\s+(?:[A-Za-z.]+\s+){0,3}?(?:accuracy|acc\.?|score|success)\b[^.;]{0,40}?"
                             r"\b(?:in|within|after|by)\s+(?:about\s+|around\s+|only\s+|just\s+)?\$?[\d,.]+\s*"
                             r"(?:steps|epochs|iterations|updates|episodes)", re.I)
_CHANGE = re.compile(
    r"reduc|improv|increas|decreas|faster|slower|lower|higher|speed-?up|gain|drop|declin|less|more|fewer|"
    r"relative|better|worse|rise|rose|fell|fall|cut|boost|saving|overhead|longer|shorter|times|fold|"
    r"\\times|×|degrad|differen|gap|margin", re.I)
_AGGREGATE = re.compile(r"\baverage|\bmean\b|\bon\s+average|\bacross\s+(?:all|the|\w+\s+)?(?:datasets|tasks|runs|"
                        r"seeds|settings|benchmarks)|\boverall\b|\bin\s+total\b|\bsum\b", re.I)
_ASSIGN = re.compile(r"(?P<name>[A-Za-z_\\]+(?:_\{?[\w,]+\}?)?)\s*=\s*\$?\s*NUM")
_HYPHEN_UNIT = re.compile(r"NUM-[a-z]")
_APPROX = re.compile(r"(?:approximately|approx\.?|about|around|roughly|nearly|almost|~|\\sim|\\approx|"
                     r"close\s+to|some|over|more\s+than|less\s+than|up\s+to)\s*\$?\s*NUM", re.I)


def _after(claim: Claim) -> str:
    """A few words after the number in its sentence: "99% validation accuracy" names the metric after."""
    found = re.search(r"(?<![\d.])" + re.escape(claim.text), claim.sentence)
    return " ".join(claim.sentence[found.end():].split()[:3]) if found else ""


def marked(text: str, claim: Claim) -> str:
    """`text` with the claim's number replaced by NUM, so patterns can say where it sits."""
    if text is claim.sentence and claim.at >= 0 and text.startswith(claim.text, claim.at):
        return text[:claim.at] + "NUM" + text[claim.at + len(claim.text):]
    return re.sub(r"(?<![\d.])" + re.escape(claim.text) + r"(?!\d|\.\d)", "NUM", text, count=1)


def approximate(claim: Claim) -> bool:
    """Written as an approximation ("around 1500 steps", "~40%"): checked at its leading digits."""
    return claim.where == "text" and bool(_APPROX.search(marked(claim.window, claim)))


def change_words(claim: Claim) -> bool:
    return bool(_CHANGE.search(claim.clause if claim.where == "text" else f"{claim.column} {claim.caption}"))


def aggregate_words(claim: Claim) -> bool:
    return bool(_AGGREGATE.search(f"{claim.sentence} {claim.column} {claim.row}"))


def names_metric(text: str, evidence: Evidence) -> bool:
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text.replace("NUM", " "))}
    return any(any(len(k) >= 3 and (w.startswith(k) or k.startswith(w)) for w in words if len(w) >= 3)
               for k in evidence.vocabulary)


def metric_threshold(claim: Claim, evidence: Evidence) -> Logged | None:
    """A logged metric whose name holds the number (`step_val_acc_99` for "99%") and whose other
    words the claim's context names: the number is part of that metric's definition."""
    digits = claim.text.replace("\\%", "").replace("%", "").strip()
    if not re.fullmatch(r"\d+(?:\.\d+)?", digits):
        return None
    token = digits.replace(".", "")
    context = f"{claim.clause} {claim.window} {claim.column} {claim.caption}".lower()
    for item in evidence.results():
        parts = re.findall(r"[a-z]+|\d+", item.metric.lower())
        if token in parts and any(w in context for w in item.words if len(w) >= 3):
            return item
    return None


def code_threshold(claim: Claim, evidence: Evidence) -> Logged | None:
    """A constant the code compares against, which the claim's context names."""
    from benchmark.validity.support import value_matches

    words = {w for w in name_words(re.sub(r"[^A-Za-z ]", " ", f"{claim.clause} {claim.window}"))}
    for item in evidence.parameters():
        if item.words & words and value_matches(claim.quoted, item) and \
                re.search(r"thresh|target|cutoff|tol|min_|max_", item.name, re.I):
            return item
    return None


def classify(claim: Claim, evidence: Evidence) -> tuple[str, str]:
    """(kind, why) of a claim; `support` checks results, derived results and settings."""
    if claim.in_label:
        return "label", "part of a row label or column header"
    local = marked(claim.clause if claim.where == "text" else claim.clause, claim)
    window = marked(claim.window, claim)
    if (item := metric_threshold(claim, evidence)) is not None:
        return "threshold", f"part of the metric {item.metric}'s definition"
    if _THRESHOLD_NEAR.search(window):
        return "threshold", "a confidence level or threshold"
    if claim.quoted.percent and _LEVEL_IN_STEPS.search(marked(claim.sentence, claim)):
        return "threshold", "a level reached in a number of steps: the steps are the result"
    reach = _REACH.search(window) if claim.quoted.percent else None
    if reach and names_metric(window[reach.end():] + " " + _after(claim), evidence):
        return "threshold", "a level to reach, not a level reached"
    if (item := code_threshold(claim, evidence)) is not None:
        return "threshold", f"the constant {item.name} the code compares against"
    if claim.where == "text":
        assign = _ASSIGN.search(marked(claim.sentence, claim))
        if _HYPHEN_UNIT.search(local) or (assign and not names_metric(assign.group("name"), evidence)):
            return "setting", "a size or an assignment of a setting"
        setting = _SETTING_BEFORE.search(window) or _SETTING_AFTER.search(window)
        if setting:
            return "setting", f"a setting ({setting.group('noun').strip()})"
        if _DATA_SIZE.search(marked(claim.sentence, claim)):
            return "setting", "a size of the data"
    if claim.small and not small_result(claim, evidence):
        return "count", "a small integer or a year whose words name no measurement"
    return "result", ""


_SMALL_GLUE = re.compile(r"^(?:of|=|:|is|was|were|are|at|to|reached|reaches|reach|achieved|achieves|achieve|"
                         r"scored|scores|only|just|about|around|exactly|a|an|the|\(|\$|~|\\%|%)$", re.I)


def small_result(claim: Claim, evidence: Evidence) -> bool:
    """A small integer is a measurement where the word right before it (past "of", "=", "reached")
    or right after it names a logged metric ("an accuracy of 0", "0 steps"), or its table column does."""
    if claim.where == "table":
        if claim.clause.strip().strip("$") != claim.text:
            return False  # "3 layers", "(5 seeds)": words in the cell say what it counts
        if names_metric(claim.column, evidence):
            return True
        # a column of a table of measurements, unless its header names a setting ("Seeds", "Layers")
        return not _SETTING.search(claim.column) and names_metric(f"{claim.caption} {claim.row}", evidence)
    if claim.at >= 0 and re.search(r"(?:^|[.!?:;])\s*$", claim.sentence[:claim.at]) and \
            re.match(r"\s*(?:\)|\.(?:\s|$))", claim.sentence[claim.at + len(claim.text):]):
        return False  # "... style. 3. Style consistency ...": an item's number
    words = marked(claim.window, claim).replace("$", " ").replace("~", " ").split()
    at = next((i for i, w in enumerate(words) if "NUM" in w), None)
    if at is None:
        return False
    # the nearest word on each side past the glue words
    before = [w for w in words[:at] if not _SMALL_GLUE.match(w.strip("(),;:"))]
    after = [w for w in words[at + 1:] if not _SMALL_GLUE.match(w.strip("(),;:"))]
    return any(names_metric(w.strip("(),;:.'"), evidence) for w in before[-1:] + after[:1])
