"""The report: sections (sections.py) of blocks (blocks.py) written as Markdown and HTML
(html_page.py), the terminal summary (terminal.py) and the figures (plots/).

``python -m runner.report DIR`` runs ``sections.main``.
"""
