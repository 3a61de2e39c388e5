import ArgumentParser
import ChatWire
import Foundation
import Pricing

/// `airlock prices …`: the price table.
struct PricesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prices", abstract: "Check the price table.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a price file (airlock-prices/1): every error with its line. Exits non-zero on any error.")

        @Argument(help: "The price file.")
        var file: String = "prices/qwen.yaml"

        func run() throws {
            let table: PriceTable
            do {
                table = try PriceTable.load(file: file)
            } catch {
                for problem in error.errors { printError(problem.description) }
                printError("\(error.errors.count) error(s) in \(file)")
                throw ExitCode.failure
            }
            let regions = table.regions.values.sorted { $0.name < $1.name }
                .map { "\($0.name) (\($0.currency); \($0.hosts.joined(separator: ", ")))" }
            print("\(file): \(table.models.count) models, regions \(regions.joined(separator: ", ")); version \(table.version)")
            for model in table.models.values.sorted(by: { $0.name < $1.name }) {
                let tiers = model.tiers.keys.sorted().map { "\($0) \(model.tiers[$0]?.count ?? 0) tier(s)" }
                let aliases = model.aliases.isEmpty ? "" : " (aliases: \(model.aliases.joined(separator: ", ")))"
                print("  \(model.name)\(aliases): \(tiers.joined(separator: ", "))")
            }
        }
    }
}
