from knowledge.chunking import chunk_document, split_sentences
from knowledge.tables import tables_as_rows

GRID = """Levels are:

+-------------------+------------------+---------------------------+
|**Confidentiality**| **Label**        | **Access**                |
| **Level**         |                  |                           |
+===================+==================+===========================+
| Public            | For Public       | Information is available  |
|                   | Release          | to the public.            |
+-------------------+------------------+---------------------------+
|                   |                  |                           |
+-------------------+------------------+---------------------------+
| Confidential      |Confidential      | Available only to indivi- |
|                   |                  | duals named by the owner. |   
+-------------------+------------------+---------------------------+

After the table."""


def test_grid_table_rows_become_self_describing_lines():
    out = tables_as_rows(GRID).split("\n")

    assert out[0] == "Levels are:"
    assert out[2] == ("- **Confidentiality** **Level**: Public; **Label**: For Public Release; "
                      "**Access**: Information is available to the public.")
    assert out[3] == ("- **Confidentiality** **Level**: Confidential; **Label**: Confidential; "
                      "**Access**: Available only to individuals named by the owner.")
    assert out[4:] == ["", "After the table."]


def test_pipe_table_rows_name_their_columns():
    text = ("| Severity | Response timing |\n| --- | :---: |\n| **High** | Immediate |\n| Low | Business hours |\n"
            "\nNext paragraph.")

    assert tables_as_rows(text).split("\n") == ["- Severity: **High**; Response timing: Immediate",
                                                "- Severity: Low; Response timing: Business hours", "",
                                                "Next paragraph."]


def test_an_empty_template_table_keeps_its_column_names():
    text = "+------+-------+\n| Type | Owner |\n+======+=======+\n|      |       |\n+------+-------+"

    assert tables_as_rows(text) == "- Type; Owner"


def test_text_with_bars_or_plus_signs_that_is_not_a_table_is_left_alone():
    text = "Use a | b in shell.\n+ a plus item\nC++ is fine."

    assert tables_as_rows(text) == text


def test_each_table_row_is_one_sentence_of_its_chunk():
    chunk = chunk_document("c.md", "Classification", "# Classification\n\n## Levels\n\n" + GRID)[0]

    sentences = split_sentences(chunk.text)

    assert "- Confidentiality Level: Public; Label: For Public Release; Access: Information is available to the " \
           "public." in sentences
    assert not any("+---" in s or "|" in s for s in sentences)


def test_rows_written_by_tables_as_rows_are_recognised_and_list_items_are_not():
    from knowledge.tables import is_table_row, tables_as_rows

    text = "| Tool | Who may use it |\n| --- | --- |\n| Kestrel Copilot | Everyone; contractors too |\n"
    row = tables_as_rows(text).strip()

    assert row == "- Tool: Kestrel Copilot; Who may use it: Everyone; contractors too"
    assert is_table_row(row)
    assert not is_table_row("- Personal accounts on consumer AI services, including ChatGPT: not approved.")
    assert not is_table_row("Tool: Kestrel Copilot; Who may use it: everyone")  # not a list line
