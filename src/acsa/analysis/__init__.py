"""Label analysis: out-of-fold probabilities, probable label errors, clean copies, Label Studio.

``acsa analyze`` (:func:`acsa.analysis.run.analyze`) cross-fits a model over one
split, ranks the (review, aspect) cells whose given label is probably wrong
with cleanlab (confident learning), and writes the findings, a clean copy of
the data and a Label Studio import file.
"""
