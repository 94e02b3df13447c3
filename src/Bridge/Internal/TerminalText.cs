using System.Globalization;
using System.Text;

namespace CtxRelay.Bridge.Internal;

/// <summary>
/// Turns terminal output into the plain lines a reader would see: ANSI escapes removed (colours,
/// OSC titles and links, charset switches) and redraws applied — carriage returns and erase-in-line
/// overwrite, cursor-up plus erase-down replaces the lines an Ink-style TUI redraws in place. Text
/// already captured from tmux (plain lines) passes through unchanged.
/// </summary>
internal static class TerminalText
{
    private const char Esc = '\u001b';

    public static List<string> Render(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.AsSpan().IndexOfAny("\u001b\r\b\t\u009b") < 0)
        {
            return [.. text.Split('\n')];
        }

        var screen = new Canvas();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            switch (c)
            {
                case '\n':
                    screen.LineFeed();
                    i++;
                    break;
                case '\r':
                    screen.Column = 0;
                    i++;
                    break;
                case '\b':
                    screen.Column = Math.Max(0, screen.Column - 1);
                    i++;
                    break;
                case '\t':
                    screen.Column = (screen.Column / 8 + 1) * 8;
                    i++;
                    break;
                case Esc:
                    i = Escape(text, i, screen);
                    break;
                case '\u009b': // 8-bit CSI
                    i = Csi(text, i + 1, screen);
                    break;
                default:
                    if (char.IsControl(c))
                    {
                        i++; // BEL, SO/SI, …: nothing to show
                        break;
                    }

                    var length = char.IsHighSurrogate(c) && i + 1 < text.Length ? 2 : 1;
                    screen.Put(text.Substring(i, length));
                    i += length;
                    break;
            }
        }

        return screen.Lines();
    }

    private static int Escape(string text, int i, Canvas screen)
    {
        if (i + 1 >= text.Length)
        {
            return i + 1;
        }

        var kind = text[i + 1];
        switch (kind)
        {
            case '[':
                return Csi(text, i + 2, screen);
            case ']':
            case 'P':
            case 'X':
            case '^':
            case '_':
                return SkipString(text, i + 2);
            case '(':
            case ')':
            case '*':
            case '+':
                return Math.Min(text.Length, i + 3); // charset designation: ESC ( B
            case '7':
                screen.Save();
                return i + 2;
            case '8':
                screen.Restore();
                return i + 2;
            case 'M': // reverse index
                screen.Row = Math.Max(0, screen.Row - 1);
                return i + 2;
            case 'E':
                screen.LineFeed();
                return i + 2;
            default:
                return i + 2;
        }
    }

    /// <summary>OSC/DCS/APC…: up to BEL or ST (ESC \).</summary>
    private static int SkipString(string text, int i)
    {
        while (i < text.Length)
        {
            if (text[i] == '\a')
            {
                return i + 1;
            }

            if (text[i] == Esc && i + 1 < text.Length && text[i + 1] == '\\')
            {
                return i + 2;
            }

            i++;
        }

        return i;
    }

    private static int Csi(string text, int i, Canvas screen)
    {
        var start = i;
        while (i < text.Length && text[i] is >= '0' and <= '?')
        {
            i++;
        }

        var parameters = text[start..i];
        while (i < text.Length && text[i] is >= ' ' and <= '/')
        {
            i++;
        }

        if (i >= text.Length)
        {
            return i;
        }

        var final = text[i];
        if (parameters.StartsWith('?') || parameters.StartsWith('>') || parameters.StartsWith('='))
        {
            return i + 1; // private modes (bracketed paste, cursor visibility…)
        }

        var n = FirstNumber(parameters, 1);
        switch (final)
        {
            case 'A':
                screen.Row = Math.Max(0, screen.Row - n);
                break;
            case 'B':
                screen.Row += n;
                break;
            case 'C':
                screen.Column += n;
                break;
            case 'D':
                screen.Column = Math.Max(0, screen.Column - n);
                break;
            case 'E':
                screen.Row += n;
                screen.Column = 0;
                break;
            case 'F':
                screen.Row = Math.Max(0, screen.Row - n);
                screen.Column = 0;
                break;
            case 'G':
                screen.Column = Math.Max(0, n - 1);
                break;
            case 'K':
                screen.EraseInLine(FirstNumber(parameters, 0));
                break;
            case 'J':
                if (FirstNumber(parameters, 0) == 0)
                {
                    screen.EraseBelow();
                }

                break;
            case 's':
                screen.Save();
                break;
            case 'u':
                screen.Restore();
                break;
            default:
                break; // SGR colours and everything else change nothing a reader sees in plain text
        }

        return i + 1;
    }

    private static int FirstNumber(string parameters, int fallback)
    {
        var end = parameters.IndexOfAny([';', ':']);
        var first = end < 0 ? parameters : parameters[..end];
        return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
    }

    /// <summary>An unbounded grid of cells (a cell is one character, possibly a surrogate pair).</summary>
    private sealed class Canvas
    {
        private readonly List<List<string>> _rows = [[]];
        private (int Row, int Column) _saved;

        public int Row { get; set; }

        public int Column { get; set; }

        public void LineFeed()
        {
            Row++;
            Column = 0;
        }

        public void Put(string cell)
        {
            var row = RowAt(Row);
            while (row.Count < Column)
            {
                row.Add(" ");
            }

            if (Column < row.Count)
            {
                row[Column] = cell;
            }
            else
            {
                row.Add(cell);
            }

            Column++;
        }

        public void EraseInLine(int mode)
        {
            var row = RowAt(Row);
            switch (mode)
            {
                case 0:
                    if (Column < row.Count)
                    {
                        row.RemoveRange(Column, row.Count - Column);
                    }

                    break;
                case 1:
                    for (var c = 0; c <= Column && c < row.Count; c++)
                    {
                        row[c] = " ";
                    }

                    break;
                default:
                    row.Clear();
                    break;
            }
        }

        public void EraseBelow()
        {
            EraseInLine(0);
            if (Row + 1 < _rows.Count)
            {
                _rows.RemoveRange(Row + 1, _rows.Count - Row - 1);
            }
        }

        public void Save() => _saved = (Row, Column);

        public void Restore() => (Row, Column) = _saved;

        public List<string> Lines()
        {
            var lines = new List<string>(_rows.Count);
            var builder = new StringBuilder();
            foreach (var row in _rows)
            {
                builder.Clear();
                foreach (var cell in row)
                {
                    builder.Append(cell);
                }

                lines.Add(builder.ToString().TrimEnd());
            }

            return lines;
        }

        private List<string> RowAt(int index)
        {
            while (_rows.Count <= index)
            {
                _rows.Add([]);
            }

            return _rows[index];
        }
    }
}
