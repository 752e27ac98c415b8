"""Use cases: one package each (a features + labels pipeline to the canonical gold tables, and a source
that lands batches), plus one conf block under conf/base/usecases/<name>/."""
