package executor

// scanNesting reports the first place where the bracket nesting of src
// exceeds max, before the source reaches goja's parser: the parser recurses
// once per bracket level and deeply nested input (250,000 parentheses fit in
// 256 KiB) would grow its goroutine stack to hundreds of megabytes.
//
// It is a lexer-light scan: strings, template text, comments and regular
// expression literals are skipped, with the usual previous-token rule telling a
// regular expression from a division. Brackets inside skipped text are still
// counted on top of the current depth, so text the scan mistook for a string
// cannot hide nesting that the parser would see as code on the same stretch.
// The price is that a string holding more unbalanced opening brackets than
// max_expr_depth is refused. The rule is a heuristic: a source crafted so
// the scan and goja's lexer disagree can still hide up to max_expr_depth
// levels per disagreement, which keeps even a hostile source orders of
// magnitude below the depth that endangers the parser's stack.
func scanNesting(src string, max int) (line, col int, tooDeep bool) {
	const (
		code = iota
		single
		double
		template
		lineComment
		blockComment
		regex
		regexClass
	)
	var (
		state      = code
		depth      int
		shadow     int // depth counted inside skipped text, never below depth
		stack      []byte
		headParen  []bool // per '(' on the stack: is it an if/while/for/with head?
		lastSig    byte   // last significant code byte
		lastWord   string // last identifier or keyword in code
		wordStart  = -1
		ln, cl     = 1, 0
		regexAfter bool // a ')' closing a statement head was just seen
	)
	open := func(c byte) bool {
		stack = append(stack, c)
		depth++
		if shadow < depth {
			shadow = depth
		}
		return depth > max
	}
	shadowOpen := func() bool {
		shadow++
		return shadow > max
	}
	shadowClose := func() {
		if shadow > depth {
			shadow--
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			ln, cl = ln+1, 0
		} else {
			cl++
		}
		switch state {
		case single, double:
			switch {
			case c == '\\':
				i++
				cl++
			case c == '\n':
				state = code
			case (c == '\'' && state == single) || (c == '"' && state == double):
				state, lastSig, lastWord = code, '"', ""
			case c == '(' || c == '[' || c == '{':
				if shadowOpen() {
					return ln, cl, true
				}
			case c == ')' || c == ']' || c == '}':
				shadowClose()
			}
			continue
		case template:
			switch c {
			case '\\':
				i++
				cl++
			case '`':
				state, lastSig, lastWord = code, '"', ""
				stack = stack[:len(stack)-1]
				depth--
				shadow = depth
			case '$':
				if i+1 < len(src) && src[i+1] == '{' {
					i++
					state = code
					if open('$') {
						return ln, cl, true
					}
				}
			case '(', '[', '{':
				if shadowOpen() {
					return ln, cl, true
				}
			case ')', ']', '}':
				shadowClose()
			}
			continue
		case lineComment:
			if c == '\n' {
				state = code
			}
			continue
		case blockComment:
			if c == '*' && i+1 < len(src) && src[i+1] == '/' {
				i++
				state = code
			}
			continue
		case regex, regexClass:
			switch {
			case c == '\\':
				i++
			case c == '\n':
				state = code
			case c == '[' && state == regex:
				state = regexClass
			case c == ']' && state == regexClass:
				state = regex
			case c == '/' && state == regex:
				state, lastSig, lastWord = code, '"', ""
			case c == '(' || c == '{':
				if shadowOpen() {
					return ln, cl, true
				}
			case c == ')' || c == '}':
				shadowClose()
			}
			continue
		}

		// code
		isWord := c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
		if isWord {
			if wordStart < 0 {
				wordStart = i
			}
			continue
		}
		if wordStart >= 0 {
			lastWord, lastSig, regexAfter = src[wordStart:i], 'a', false
			wordStart = -1
		}
		switch c {
		case ' ', '\t', '\r', '\n', '\f', '\v':
			continue
		case '\'':
			state, shadow = single, depth
		case '"':
			state, shadow = double, depth
		case '`':
			state, shadow = template, depth
			if open('`') {
				return ln, cl, true
			}
		case '/':
			switch {
			case i+1 < len(src) && src[i+1] == '/':
				state = lineComment
				i++
			case i+1 < len(src) && src[i+1] == '*':
				state = blockComment
				i++
			case regexStarts(lastSig, lastWord, regexAfter):
				state, shadow = regex, depth
			default:
				lastSig, lastWord, regexAfter = '/', "", false
			}
			continue
		case '(', '[', '{':
			if c == '(' {
				headParen = append(headParen, lastSig == 'a' && isStatementHead(lastWord))
			}
			if open(c) {
				return ln, cl, true
			}
			lastSig, lastWord, regexAfter = c, "", false
			continue
		case ')', ']', '}':
			head := false
			if c == ')' && len(headParen) > 0 {
				head = headParen[len(headParen)-1]
				headParen = headParen[:len(headParen)-1]
			}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				depth--
				if c == '}' && top == '$' { // end of a ${...} substitution
					state = template
					shadow = depth
					continue
				}
			}
			shadow = depth
			lastSig, lastWord, regexAfter = c, "", head
			continue
		}
		lastSig, lastWord, regexAfter = c, "", false
	}
	return 0, 0, false
}

// regexStarts applies the previous-token rule: a slash after an operand is a
// division, anywhere else it opens a regular expression literal.
func regexStarts(lastSig byte, lastWord string, afterHead bool) bool {
	switch lastSig {
	case 0:
		return true
	case 'a':
		switch lastWord {
		case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
			"throw", "case", "do", "else", "yield", "await":
			return true
		}
		return false
	case ')':
		return afterHead
	case ']', '"':
		return false
	case '}':
		// After a block a slash starts a regular expression, after an object
		// literal or function expression it divides. Division is the safe
		// guess: a scan wrongly in a regexp would stop counting code the
		// parser sees, anywhere in an expression; a scan wrongly in a string
		// loses at most one line, and only after a block statement.
		return false
	case '+', '-':
		return false // a++ / b: postfix; ++/re/ is not valid anyway
	}
	return true
}

func isStatementHead(w string) bool {
	return w == "if" || w == "while" || w == "for" || w == "with"
}
