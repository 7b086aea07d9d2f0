"""The local web dashboard and its JSON API over the results store (``evpath serve``)."""
