"""Archive back-fill: tag a JSON Lines file of articles into a JSON Lines file of results.

The ``newsroom-tagger`` command (:mod:`service.cli`) drives it. One output record per input line, in
input order; the run resumes where a stopped one left off; the articles go to the tagging service
through its public API, in-process (the app without a socket), against a URL, or on Dask workers.

- :mod:`.files`: reading and writing JSON Lines, gzip by extension, the resume point;
- :mod:`.records`: input lines to documents, batch items to output records;
- :mod:`.batching`: documents to ``/v1/tag/batch`` calls that fit the service's limits;
- :mod:`.backends`: where the calls go (in-process, a URL); :mod:`.cluster`: a Dask cluster;
- :mod:`.runner`: the run itself, with its progress bar and summary.
"""
