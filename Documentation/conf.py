# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration for the iommu_testdev documentation.
#
#   sphinx-build -W -b html Documentation out/docs

project = 'iommu_testdev'
copyright = 'The iommu_testdev authors'
author = 'The iommu_testdev authors'

# Plain reStructuredText only: no kernel-doc, no other extensions.
extensions = []

root_doc = 'index'
source_suffix = '.rst'
exclude_patterns = ['_build', 'out', '.doctrees', 'Thumbs.db', '.DS_Store']

highlight_language = 'none'
html_theme = 'alabaster'
html_static_path = []
