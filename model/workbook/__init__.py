"""Reading and checking the input workbook: the contract (schema), the container checks, cells, validated tables (InputData), scenarios, the template, plan files read back."""
