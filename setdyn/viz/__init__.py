"""Everything the reader sees: :mod:`.figures` (plotly figures by topic) and :mod:`.explorers`
(the interactive oscillator and network explorers: exported data, static HTML/JS, ipywidgets)."""
