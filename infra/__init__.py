"""Set-up and operation of the embedded engines: downloads, Spark jars, the Trino server."""
