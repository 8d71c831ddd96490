"""Recognition: labels, scores and boxes from a network's tensors.

A specification declares the labels of each output; a version binds it to a network with
a post-processing per output; :mod:`vulcain.recognition.results` turns the tensors of one
inference into the predicted and discarded labels. Nothing here knows HTTP or the database.
"""
