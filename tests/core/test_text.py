from frontdesk.core.text import html_to_text, sanitize_html, single_line, text_to_html


def test_it_removes_scripts_handlers_and_dangerous_urls():
    dirty = ('<a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)>'
             '<iframe src="https://evil"></iframe><a href="https://ok.example">ok</a>')

    clean = sanitize_html(dirty)

    assert "javascript" not in clean and "onerror" not in clean and "iframe" not in clean
    assert 'href="https://ok.example"' in clean and 'rel="noopener noreferrer nofollow"' in clean


def test_it_turns_html_into_readable_text():
    assert html_to_text("<p>Hello&nbsp;<b>you</b></p><p>Line 2<br>Line 3</p><script>x()</script>") == (
        "Hello\xa0you\nLine 2\nLine 3"
    )


def test_it_escapes_plain_text_for_display():
    assert text_to_html("<b>hi</b>\nthere") == "<p>&lt;b&gt;hi&lt;/b&gt;<br>there</p>"


def test_it_makes_header_values_single_line():
    assert single_line("a\r\nb\x00c\td", max_length=5) == "a b c"
