"""Hash-chained documents: carbon reports and footprint documents alike.

:mod:`ems.documents.chain` holds the hashing and chain rules, :mod:`ems.documents.service` issues a
document into its chain, finds it by content hash, serves its files and verifies a file against
the chain; :mod:`ems.documents.content` holds the header every document starts with.
"""
