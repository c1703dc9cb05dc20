"""`bench demo`: the whole loop offline, in a few minutes, on a template shipped here.

The scientist's replies are scripted (replies.json: written by hand for the demo template, not
a model's output, and labelled so wherever they appear); everything else is real: the sandboxed
experiment runs, plot.py, pdflatex, the review by the embedded model (local/smollm2), the
validity checks and the leaderboard.
"""
