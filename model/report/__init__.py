"""What is written: the plan workbook, the map, the sweep frontier, the decision workbooks, and the output guard that writes them as one set."""
