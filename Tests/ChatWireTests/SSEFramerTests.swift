import Testing

import ChatWire

@Suite struct SSEFramerTests {
    let stream = Array(
        "data: {\"a\":1}\n\ndata:{\"b\":2}\n\n: comment\n\ndata: [DONE]\n\n".utf8)

    @Test func splitsWholeEventsAtEveryChunkBoundary() {
        for cut in 1..<stream.count {
            var framer = SSEFramer()
            var events = framer.append(stream[..<cut])
            events += framer.append(stream[cut...])
            #expect(events.count == 4, "cut at \(cut)")
            #expect(events.flatMap { $0 } == stream)
            #expect(framer.finish() == nil)
        }
    }

    @Test func byteAtATime() {
        var framer = SSEFramer()
        var events: [[UInt8]] = []
        for byte in stream { events += framer.append([byte]) }
        #expect(events.count == 4)
        #expect(events.flatMap { $0 } == stream)
    }

    @Test func crlfTerminators() {
        var framer = SSEFramer()
        let bytes = Array("data: x\r\n\r\ndata: y\r\n\r\n".utf8)
        let events = framer.append(bytes)
        #expect(events.count == 2)
        #expect(SSEFramer.data(of: events[0]) == Array("x".utf8))
    }

    @Test func unterminatedTailIsReturnedAtFinish() {
        var framer = SSEFramer()
        #expect(framer.append(Array("data: partial".utf8)).isEmpty)
        #expect(framer.finish() == Array("data: partial".utf8))
    }

    @Test func dataWithAndWithoutSpaceAndMultiline() {
        #expect(SSEFramer.data(of: Array("data: {\"a\":1}\n\n".utf8)) == Array("{\"a\":1}".utf8))
        #expect(SSEFramer.data(of: Array("data:{\"a\":1}\n\n".utf8)) == Array("{\"a\":1}".utf8))
        #expect(SSEFramer.data(of: Array("data: a\ndata: b\n\n".utf8)) == Array("a\nb".utf8))
        #expect(SSEFramer.data(of: Array(": keepalive\n\n".utf8)) == nil)
    }
}

@Suite struct SSEFramerBoundTests {
    @Test func anEventPastTheBoundStopsTheFramerWhetherItEndsOrNot() {
        // Whole in one chunk, after a small event.
        var framer = SSEFramer(maxEventBytes: 64)
        let small = Array("data: {\"a\":1}\n\n".utf8)
        let big = Array(("data: " + String(repeating: "x", count: 100) + "\n\n").utf8)
        #expect(framer.append(small + big) == [small])
        #expect(framer.overflowed)
        #expect(framer.append(small).isEmpty)
        // Never ending: `data: ` and an endless line, fed in pieces; the buffer never holds more than the bound.
        var endless = SSEFramer(maxEventBytes: 1024)
        _ = endless.append(Array("data: ".utf8))
        var chunks = 0
        while !endless.overflowed && chunks < 100 {
            #expect(endless.append([UInt8](repeating: 0x61, count: 100)).isEmpty)
            chunks += 1
        }
        #expect(endless.overflowed)
        #expect(chunks == 11)
        #expect(endless.finish() == nil)
    }

    @Test func eventsUpToTheBoundPass() {
        var framer = SSEFramer(maxEventBytes: 16)
        let event = Array("data: 123456789\n\n".utf8)  // 17 bytes
        let fits = Array("data: 12345678\n\n".utf8)  // 16 bytes
        #expect(framer.append(fits) == [fits])
        #expect(!framer.overflowed)
        #expect(framer.append(event).isEmpty)
        #expect(framer.overflowed)
    }
}
