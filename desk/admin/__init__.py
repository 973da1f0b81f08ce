"""desk's admin side: the review queue, the NLU data editor, Rasa model training and promotion."""
