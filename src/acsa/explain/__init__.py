"""Per-aspect explanations: which words of a review made the model give each aspect its label.

* :mod:`acsa.explain.spans`: tokens with character offsets in the text as written;
* :mod:`acsa.explain.offline_ig`: Integrated Gradients (Captum) on the offline
  encoder's input embeddings;
* :mod:`acsa.explain.hf_ig`: Integrated Gradients on a Hugging Face encoder's word
  embeddings, word pieces merged into the words as written;
* :mod:`acsa.explain.segmented`: a word-segmented model's evidence moved back onto
  the raw text;
* :mod:`acsa.explain.tfidf_exact`: exact linear contributions of the TF-IDF model;
* :mod:`acsa.explain.run`: :func:`explain_labels`, the evidence of every mentioned aspect;
* :mod:`acsa.explain.faithfulness`: ERASER comprehensiveness and sufficiency.

:meth:`acsa.api.Predictor.explain` is the entry point for users.
"""

from acsa.explain.evidence import AspectEvidence, Explanation, TokenContribution
from acsa.explain.run import ExplainError, explain_labels

__all__ = ["AspectEvidence", "ExplainError", "Explanation", "TokenContribution", "explain_labels"]
